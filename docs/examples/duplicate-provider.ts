import { Container, provide, token } from '@plinth/core'

interface Mailer {
  send(to: string): Promise<void>
}
const Mailer = token('mailer').of<Mailer>()
const smtpMailer = provide(Mailer, { value: { send: () => Promise.resolve() } })

export async function main() {
  try {
    // #region problem
    const logMailer = provide(Mailer, { value: { send: () => Promise.resolve() } })
    await using container = new Container([smtpMailer, logMailer])
    // #endregion
    return `no error: ${container.has(Mailer)}`
  } catch (error) {
    return (error as Error).message
  }
}
