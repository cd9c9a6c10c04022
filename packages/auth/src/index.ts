/** @plinth/auth: argon2id passwords, JWT access and rotating refresh tokens, RBAC, brute-force protection. */
export {}
