/**
 * The commit of the tree that recorded a baseline, so a failure message can say which code the
 * baseline came from. Asked of git in the project root; `GITHUB_SHA` when git cannot answer (a
 * CI checkout without `.git`); null when neither knows. Never fails the run.
 */
import { execFile } from 'node:child_process'

export function currentCommit(root: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', 'HEAD'], { cwd: root, timeout: 5000 }, (error, stdout) => {
      const sha = stdout?.trim() ?? ''
      if (!error && /^[0-9a-f]{40,64}$/.test(sha)) return resolve(sha)
      const fromCi = env.GITHUB_SHA?.trim()
      resolve(fromCi && /^[0-9a-f]{40,64}$/.test(fromCi) ? fromCi : null)
    })
  })
}
