import { Box, LinearProgress, Typography } from '@mui/material';
import { useEffect, useState } from 'react';
import { formatDuration } from '../../src-shared/format';
import type { ProgressEvent } from '../../src-shared/progress';
import { overallProgress, stageName } from '../../src-shared/stage-names';

/** One bar for the whole build: percent, the stage in plain words, and the time left (weights from measured stage times). */
export function BuildProgress({ stages, startedAt, running }: { stages: ProgressEvent[]; startedAt: Record<string, number>; running: boolean }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [running]);
  const { fraction, etaSeconds } = overallProgress(stages, startedAt, running ? now : Date.now());
  const current = stages.find((s) => s.status === 'running');
  const percent = Math.round(fraction * 100);
  const left = !running ? '' : etaSeconds === null ? 'estimating the time left…' : etaSeconds < 5 ? 'almost done' : `about ${formatDuration(etaSeconds)} left`;
  return (
    <Box sx={{ my: 2 }} aria-live="polite">
      <Box sx={{ display: 'flex', gap: 2, alignItems: 'baseline' }}>
        <Typography sx={{ flex: 1 }} id="build-overall-label">
          <strong>{percent} %</strong>
          {current ? ` — ${stageName(current.stage, current.message)}` : ''}
        </Typography>
        <Typography variant="body2" color="text.secondary">
          {left}
        </Typography>
      </Box>
      <LinearProgress
        variant="determinate"
        value={percent}
        aria-labelledby="build-overall-label"
        aria-label="Whole build"
        sx={{ height: 10, borderRadius: 1, mt: 0.5 }}
      />
    </Box>
  );
}
