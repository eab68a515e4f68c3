/**
 * The device process a backend's next benchmark goes to: the current one while it lives and is
 * idle, else a fresh one. Work still in flight when a benchmark starts belongs to one its caller
 * gave up on (a test runner's own timeout can end a test before the device timeout ends its
 * wait), or runs beside it: the new benchmark gets a process of its own, so that killing the old
 * one for a hung kernel cannot take it along.
 */

import type { DeviceProcess } from './client.ts'
import type { DeviceOperation } from './protocol.ts'

/** What the current device process is, for tests and reports. */
export interface DeviceProcessInfo {
  readonly pid: number | undefined
  /** Processes started by this backend so far (1 + restarts). */
  readonly starts: number
  /** Milliseconds from start to the process's first message; undefined before it. */
  readonly readyMs: number | undefined
}

export class DeviceProcessSlot<Op extends DeviceOperation, R extends { readonly [K in Op['op']]: unknown }> {
  readonly #start: () => DeviceProcess<Op, R>
  /** Every process started and not yet ended: the current one and any retired one still finishing. */
  readonly #started = new Set<DeviceProcess<Op, R>>()
  #current: DeviceProcess<Op, R> | undefined
  #starts = 0

  constructor(start: () => DeviceProcess<Op, R>) {
    this.#start = start
  }

  /** The process for the next piece of work (started when there is none fit for it). */
  get(): DeviceProcess<Op, R> {
    const current = this.#current
    if (current?.busy) current.retire('its benchmark was abandoned while device work was in flight')
    if (!current || current.ended !== undefined || current.busy) {
      const next = this.#start()
      this.#current = next
      this.#starts += 1
      for (const p of this.#started) if (p.ended !== undefined) this.#started.delete(p)
      this.#started.add(next)
      return next
    }
    return current
  }

  info(): DeviceProcessInfo | undefined {
    if (!this.#current) return undefined
    return { pid: this.#current.pid, starts: this.#starts, readyMs: this.#current.readyMs }
  }

  /** Kills every process of this slot; a later `get` starts a fresh one. */
  shutdown(reason: string): void {
    for (const p of this.#started) p.kill(reason)
    this.#started.clear()
    this.#current = undefined
  }
}
