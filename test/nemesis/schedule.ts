// The fault schedule, a pure function of the seed: which kinds, when, for how long, and each fault's own
// random stream. The same seed gives the same schedule; the processes' timing still varies between runs.
import { Prng } from "../../src/raft/index.js";

export interface ScheduledFault {
  readonly kind: string;
  /** Milliseconds after the workload started. */
  readonly at: number;
  readonly activeMs: number;
  /** Seed of the fault's own choices (which node, which split). */
  readonly seed: number;
}

export interface ScheduleOptions {
  readonly seed: number;
  readonly kinds: readonly string[];
  readonly durationMs: number;
  /** Fault-free time at the start, so the workload is running before the first fault. */
  readonly warmupMs?: number;
}

const warmupMsDefault = 1500;
/** A fault lasts this long normally; the first round is shortened so every kind fits in a short run. */
const activeMsMin = 2_000;
const activeMsMax = 5_000;
/** Quiet time after a fault heals, before the next one, so recovery itself is observed. */
const quietMsMin = 1_000;
const quietMsMax = 2_500;
/** A fault shorter than this says little; it is dropped instead of squeezed in at the end. */
const activeMsFloor = 800;

/**
 * Every kind once, in a seeded order, then seeded random kinds until the duration is used up. When the
 * duration is too short for a normal first round, each of its faults gets an equal slot (70% active).
 */
export function makeSchedule(o: ScheduleOptions): ScheduledFault[] {
  const rng = new Prng(o.seed ^ 0x5eed_fa17);
  const warmup = o.warmupMs ?? warmupMsDefault;
  const faults: ScheduledFault[] = [];
  if (o.kinds.length === 0) return faults;
  const firstRound = [...o.kinds];
  for (let i = firstRound.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [firstRound[i], firstRound[j]] = [firstRound[j]!, firstRound[i]!];
  }
  const normalSlot = (activeMsMax + activeMsMin + quietMsMax + quietMsMin) / 2;
  const slot = Math.min(normalSlot, (o.durationMs - warmup) / firstRound.length);
  let t = warmup;
  for (let k = 0; t < o.durationMs; k++) {
    const first = firstRound[k];
    const kind = first ?? rng.pick(o.kinds);
    let activeMs: number;
    let quietMs: number;
    if (first !== undefined && slot < normalSlot) {
      activeMs = Math.round(slot * 0.7);
      quietMs = Math.round(slot * 0.3);
    } else {
      activeMs = rng.range(activeMsMin, activeMsMax);
      quietMs = rng.range(quietMsMin, quietMsMax);
    }
    activeMs = Math.min(activeMs, o.durationMs - t);
    if (activeMs < activeMsFloor) break;
    faults.push({ kind, at: t, activeMs, seed: rng.nextU32() });
    t += activeMs + quietMs;
  }
  return faults;
}
