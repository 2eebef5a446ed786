// A terminal progress bar for runSimulator (cli-progress), so the CLI verb stays a thin call.
import cliProgress from "cli-progress";
import type { SimulatorProgress } from "./runner.ts";

/** Returns an onProgress callback drawing a bar (on stderr); it stops itself on the final report. */
export function simulatorProgressBar(options: { durationMs?: number } = {}): (p: SimulatorProgress) => void {
  const bar = new cliProgress.SingleBar(
    {
      format:
        "simulator |{bar}| {percentage}% | {frames} frames | {fps} frames/s | {bets} bets | {malformed} malformed | sim {simTime}",
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return (p) => {
    const total = p.total ?? options.durationMs ?? 0;
    const value =
      p.total !== null ? p.frames : options.durationMs ? Math.min(p.elapsedMs, options.durationMs) : 0;
    const payload = {
      frames: p.frames,
      fps: Math.round(p.framesPerSecond),
      bets: p.bets,
      malformed: p.malformed,
      simTime: p.simulatedTime ? new Date(p.simulatedTime).toISOString().slice(0, 19) : "-",
    };
    if (!started) {
      bar.start(Math.max(1, total), value, payload);
      started = true;
    } else bar.update(value, payload);
    if (p.done) {
      if (total === 0) bar.setTotal(1);
      if (total === 0) bar.update(1, payload);
      bar.stop();
    }
  };
}
