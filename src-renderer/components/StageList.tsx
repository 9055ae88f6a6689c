import { Box, Chip, LinearProgress, List, ListItem, Typography } from '@mui/material';
import { formatBytes, formatDuration, formatRate } from '../../src-shared/format';
import type { ProgressEvent } from '../../src-shared/progress';
import { stageName } from '../../src-shared/stage-names';

const COLORS = { pending: 'default', running: 'primary', done: 'success', failed: 'error', cancelled: 'warning', skipped: 'default' } as const;
const STATUS = { pending: 'waiting', running: 'working', done: 'done', failed: 'failed', cancelled: 'cancelled', skipped: 'skipped' } as const;

function details(s: ProgressEvent): string {
  const parts: string[] = [];
  if (s.bytesDone !== null) parts.push(s.bytesTotal !== null ? `${formatBytes(s.bytesDone)} of ${formatBytes(s.bytesTotal)}` : formatBytes(s.bytesDone));
  if (s.status === 'running' && s.rate !== null) parts.push(formatRate(s.rate));
  if (s.status === 'running' && s.etaSeconds !== null) parts.push(`${formatDuration(s.etaSeconds)} left`);
  return parts.join(' · ');
}

/** The build's stages in plain words, each with its own progress (the engine's stage id is the tooltip). */
export function StageList({ stages }: { stages: ProgressEvent[] }) {
  return (
    <List aria-label="Build stages" dense>
      {stages.map((s) => (
        <ListItem key={s.stage} aria-label={`${stageName(s.stage)}: ${STATUS[s.status]}`} title={s.stage} sx={{ display: 'block' }}>
          <Box sx={{ display: 'flex', gap: 1, alignItems: 'center' }}>
            <Typography sx={{ flex: 1 }}>{stageName(s.stage, s.message)}</Typography>
            <Typography variant="caption" color="text.secondary">
              {details(s)}
            </Typography>
            <Chip size="small" label={STATUS[s.status]} color={COLORS[s.status]} variant={s.status === 'pending' ? 'outlined' : 'filled'} />
          </Box>
          {s.status === 'running' && (
            <LinearProgress
              variant={s.fraction === null ? 'indeterminate' : 'determinate'}
              value={(s.fraction ?? 0) * 100}
              aria-label={`${stageName(s.stage)} progress`}
              sx={{ mt: 0.5 }}
            />
          )}
          {s.message && s.status === 'running' && s.message !== s.stage && (
            <Typography variant="caption" color="text.secondary">
              {s.message}
            </Typography>
          )}
        </ListItem>
      ))}
    </List>
  );
}
