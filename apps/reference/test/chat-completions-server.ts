/**
 * A small server speaking the chat-completions wire format (POST /v1/chat/completions, as
 * documented at https://platform.openai.com/docs/api-reference/chat/create), whose answers the
 * test scripts: a reply, an error status with an error body, or silence past the client's timeout.
 */
import { createServer, type IncomingMessage } from 'node:http'

export interface ChatRequest {
  readonly path: string
  readonly authorization: string | undefined
  readonly body: { model: string; messages: Array<{ role: string; content: string }> }
}

export type Answer = { reply: string } | { status: number; message: string } | { hang: number }

export interface ChatServer {
  /** The API root to configure: `http://127.0.0.1:<port>/v1`. */
  readonly baseUrl: string
  readonly requests: ChatRequest[]
  /** What the next requests get; the last answer repeats. */
  answer(...answers: Answer[]): void
  close(): Promise<void>
}

async function read(request: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of request) text += String(chunk)
  return text
}

export async function startChatServer(): Promise<ChatServer> {
  const requests: ChatRequest[] = []
  let script: Answer[] = [{ reply: 'Hello from the model.' }]
  const server = createServer((req, res) => {
    void read(req).then(async (text) => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return res.writeHead(404).end()
      const body = JSON.parse(text) as ChatRequest['body']
      requests.push({ path: req.url, authorization: req.headers.authorization, body })
      const answer = script.length > 1 ? script.shift()! : script[0]!
      if ('hang' in answer) await new Promise((resolve) => setTimeout(resolve, answer.hang))
      if ('status' in answer) {
        return res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: answer.message, type: 'server_error', param: null, code: null } }))
      }
      const reply = 'reply' in answer ? answer.reply : 'too late'
      const completion = {
        id: `chatcmpl-${requests.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    answer: (...answers) => {
      script = answers
    },
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
