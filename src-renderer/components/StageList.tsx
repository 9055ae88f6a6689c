import { Box, Chip, LinearProgress, List, ListItem, Typography } from '@mui/material';
import { formatBytes, formatDuration, formatRate } from '../../src-shared/format';
import type { ProgressEvent } from '../../src-shared/progress';

const COLORS = { pending: 'default', running: 'primary', done: 'success', failed: 'error', cancelled: 'warning', skipped: 'default' } as const;

function details(s: ProgressEvent): string {
  const parts: string[] = [];
  if (s.bytesDone !== null) parts.push(s.bytesTotal !== null ? `${formatBytes(s.bytesDone)} of ${formatBytes(s.bytesTotal)}` : formatBytes(s.bytesDone));
  if (s.status === 'running' && s.rate !== null) parts.push(formatRate(s.rate));
  if (s.status === 'running' && s.etaSeconds !== null) parts.push(`${formatDuration(s.etaSeconds)} left`);
  return parts.join(' · ');
}

/** The build's stages, each with its own progress. */
export function StageList({ stages }: { stages: ProgressEvent[] }) {
  return (
    <List aria-label="Build stages" dense>
      {stages.map((s) => (
        <ListItem key={s.stage} aria-label={`${s.stage}: ${s.status}`} sx={{ display: 'block' }}>
          <Box sx={{ display: 'flex', gap: 1, alignItems: 'center' }}>
            <Typography sx={{ flex: 1 }}>{s.stage}</Typography>
            <Typography variant="caption" color="text.secondary">{details(s)}</Typography>
            <Chip size="small" label={s.status} color={COLORS[s.status]} />
          </Box>
          {s.status === 'running' && (
            <LinearProgress
              variant={s.fraction === null ? 'indeterminate' : 'determinate'}
              value={(s.fraction ?? 0) * 100}
              aria-label={`${s.stage} progress`}
              sx={{ mt: 0.5 }}
            />
          )}
          {s.message && <Typography variant="caption" color="text.secondary">{s.message}</Typography>}
        </ListItem>
      ))}
    </List>
  );
}
