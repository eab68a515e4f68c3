/**
 * What else the machine did while something was measured (Linux): the CPU time of every process
 * outside this process and its descendants (the device processes), and the time the hypervisor
 * took from this VM (steal), each as CPUs kept busy on average over the measurement. Busy time
 * comes from /proc/stat (all of the machine, including processes that came and went in between),
 * this process tree's from /proc/<pid>/stat; the difference is everyone else's.
 *
 * A measurement taken while other processes keep the CPUs busy reads slow for reasons of the
 * machine, not of the code: a 2-thread kernel on 2 busy CPUs waits a scheduler slice for its
 * other half (a 30 µs OpenBLAS GEMM read 4-8 ms per call beside two spinning processes). The
 * plugin puts the figure beside such a measurement and in a regression's message.
 *
 * Not visible here: a host that slows the VM's CPUs without taking them (the slow spells that
 * confirmation waits out), and anything on macOS or Windows (null there).
 *
 * Cost: one read of /proc/stat and of /proc/<pid>/stat for every process, at each snapshot.
 */
import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of /proc/stat and /proc/<pid>/stat (Linux's USER_HZ). */
const USER_HZ = 100

export interface CpuSnapshot {
  /** Monotonic time of the snapshot, in ms. */
  readonly atMs: number
  /** Online CPUs (the cpuN lines of /proc/stat). */
  readonly cpus: number
  /** Ticks the machine spent busy: user, nice, system, irq, softirq (idle, iowait and steal apart). */
  readonly busyTicks: number
  readonly stealTicks: number
  /** CPU ticks (user + system) of each process of the tree, by pid. */
  readonly treeTicks: ReadonlyMap<number, number>
}

/** CPUs kept busy on average between two snapshots. */
export interface MachineLoad {
  /** By processes outside the measuring tree (and the kernel's own work), in CPUs. */
  readonly otherCpus: number
  /** Taken by the hypervisor (steal time), in CPUs. */
  readonly stealCpus: number
  readonly cpus: number
  readonly seconds: number
}

interface ProcStat {
  readonly ppid: number
  readonly ticks: number
}

/** A process's parent and CPU ticks from its /proc/<pid>/stat line; null if it is gone. */
function procStat(pid: number): ProcStat | null {
  let line: string
  try {
    line = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ')
  // After the name: state ppid ... utime (14th field overall, index 11 here) stime (index 12).
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) }
}

/**
 * The machine's busy time and that of `root` and its descendants, now; null where /proc is not
 * Linux's. Cost: O(processes) file reads.
 */
export function cpuSnapshot(root: number = process.pid): CpuSnapshot | null {
  let stat: string
  try {
    stat = readFileSync('/proc/stat', 'utf8')
  } catch {
    return null
  }
  const lines = stat.split('\n')
  const total = lines[0]?.trim().split(/\s+/)
  if (total?.[0] !== 'cpu' || total.length < 9) return null
  const f = total.slice(1).map(Number)
  const cpus = lines.filter((l) => /^cpu\d+\s/.test(l)).length
  const processes = new Map<number, ProcStat>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const s = procStat(Number(name))
    if (s !== null) processes.set(Number(name), s)
  }
  const children = new Map<number, number[]>()
  for (const [pid, s] of processes) {
    const siblings = children.get(s.ppid)
    if (siblings === undefined) children.set(s.ppid, [pid])
    else siblings.push(pid)
  }
  const treeTicks = new Map<number, number>()
  const pending = [root]
  while (pending.length > 0) {
    const pid = pending.pop() as number
    const s = processes.get(pid)
    if (s === undefined || treeTicks.has(pid)) continue
    treeTicks.set(pid, s.ticks)
    pending.push(...(children.get(pid) ?? []))
  }
  return {
    atMs: performance.now(),
    cpus: Math.max(1, cpus),
    busyTicks: f[0]! + f[1]! + f[2]! + f[5]! + f[6]!,
    stealTicks: f[7]!,
    treeTicks,
  }
}

/**
 * The load between two snapshots of the same tree. A process of the tree that started in between
 * counts from zero; one that ended in between loses its last ticks to "other" (rare: a device
 * process killed mid-measurement). Null when either snapshot is, or no time passed. Cost: O(tree).
 */
export function machineLoadBetween(before: CpuSnapshot | null, after: CpuSnapshot | null): MachineLoad | null {
  if (before === null || after === null) return null
  const seconds = (after.atMs - before.atMs) / 1000
  if (!(seconds > 0)) return null
  let treeTicks = 0
  for (const [pid, ticks] of after.treeTicks) treeTicks += Math.max(0, ticks - (before.treeTicks.get(pid) ?? 0))
  const otherTicks = after.busyTicks - before.busyTicks - treeTicks
  return {
    otherCpus: Math.max(0, otherTicks / USER_HZ / seconds),
    stealCpus: Math.max(0, (after.stealTicks - before.stealTicks) / USER_HZ / seconds),
    cpus: after.cpus,
    seconds,
  }
}

/** Other processes' share worth a word beside a measurement: a quarter of a CPU, or a tenth stolen. */
export const BUSY_MACHINE_CPUS = 0.25
export const STOLEN_CPUS = 0.1

/**
 * A sentence for a measurement's notes when the machine was busy with other work, else null:
 * "other processes kept 1.9 of 2 CPUs busy during this measurement (the hypervisor took 0.0): a
 * busy machine reads slow".
 */
export function machineLoadNote(load: MachineLoad | null): string | null {
  if (load === null || (load.otherCpus < BUSY_MACHINE_CPUS && load.stealCpus < STOLEN_CPUS)) return null
  return `other processes kept ${load.otherCpus.toFixed(1)} of ${load.cpus} CPUs busy during this measurement (the hypervisor took ${load.stealCpus.toFixed(1)}): a busy machine reads slow`
}
