/**
 * "Back up a card": pick a drive, read it into an .img.zst with its .bmap (only the blocks its filesystems
 * use, verified), then optionally write that backup to another card through the normal drive step.
 */
import {
  Alert,
  AlertTitle,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  FormControlLabel,
  LinearProgress,
  Radio,
  RadioGroup,
  TextField,
  Typography,
} from '@mui/material';
import { useEffect, useState } from 'react';
import { driveLabel } from '../../src-shared/drives';
import { formatBytes, formatDuration, formatRate } from '../../src-shared/format';
import { isHiddenVirtual, visibleDrives } from '../../src-shared/safety';
import { defaultBackupName, useBackupStore } from '../stores/backup-store';
import { useDrivesStore } from '../stores/drives-store';
import { useSelectionStore } from '../stores/selection-store';
import { useWizardStore } from '../stores/wizard-store';
import { ErrorAlert } from './ErrorAlert';

const PHASES = {
  scanning: 'Reading the partition table and filesystems',
  reading: 'Reading the used blocks',
  verifying: 'Checking the backup file',
  done: 'Done',
} as const;

export function BackupDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { drives, watch, busy } = useDrivesStore();
  const b = useBackupStore();
  const [device, setDevice] = useState<string | null>(null);
  const [name, setName] = useState('');
  useEffect(() => (open ? watch() : undefined), [open, watch]);
  const candidates = visibleDrives(drives, false).filter((d) => !isHiddenVirtual(d));
  const inUse = (device: string) => busy.some((w) => w.targets.includes(device));
  const pick = (dev: string) => {
    setDevice(dev);
    setName(defaultBackupName(dev));
  };
  const restore = () => {
    if (!b.result) return;
    useSelectionStore.getState().useHistoryImage(b.result.image, b.result.imageSize, '', b.result.bmap);
    useWizardStore.getState().goTo('drive');
    b.reset();
    onClose();
  };
  const p = b.progress;
  return (
    <Dialog open={open} onClose={b.status === 'running' ? undefined : onClose} aria-labelledby="backup-title" fullWidth maxWidth="md">
      <DialogTitle id="backup-title">Back up a card</DialogTitle>
      <DialogContent>
        <Typography sx={{ mb: 1 }}>
          Saves a card or USB stick as a compressed image you can write back later. Only the parts its filesystems use are read.
        </Typography>
        {b.status !== 'running' && b.status !== 'done' && (
          <>
            {candidates.length === 0 && <Alert severity="info">Insert the card to back up; it appears here by itself.</Alert>}
            <RadioGroup aria-label="Drive to back up" value={device ?? ''} onChange={(e) => pick(e.target.value)}>
              {candidates.map((d) => (
                <FormControlLabel
                  key={d.device}
                  value={d.device}
                  control={<Radio />}
                  disabled={inUse(d.device)}
                  label={`${driveLabel(d)}${inUse(d.device) ? ' — in use: Nexus Imager is writing to it' : ''}`}
                />
              ))}
            </RadioGroup>
            {device && (
              <TextField
                label="Backup file name"
                value={name}
                onChange={(e) => setName(e.target.value)}
                size="small"
                fullWidth
                sx={{ mt: 2 }}
                helperText="Saved in Nexus Imager's images folder, with a .bmap next to it"
              />
            )}
          </>
        )}
        {b.status === 'running' && (
          <div role="status">
            <Typography>
              {p ? PHASES[p.phase] : 'Starting'} — {b.device}
            </Typography>
            <LinearProgress
              variant={p && p.bytesTotal ? 'determinate' : 'indeterminate'}
              value={p && p.bytesTotal ? (100 * p.bytesDone) / p.bytesTotal : 0}
              aria-label="Backup progress"
            />
            {p && (
              <Typography variant="caption">
                {formatBytes(p.bytesDone)} of {formatBytes(p.bytesTotal)} · {formatRate(p.speed)}
                {p.etaSeconds !== null ? ` · ${formatDuration(p.etaSeconds)} left` : ''}
              </Typography>
            )}
          </div>
        )}
        {b.status === 'done' && b.result && (
          <Alert severity="success" role="status">
            <AlertTitle>Backup ready and verified</AlertTitle>
            {b.result.image} ({formatBytes(b.result.compressedSize)}): read {formatBytes(b.result.mappedBytes)} of the {formatBytes(b.result.imageSize)} drive
            in {b.result.seconds.toFixed(1)} s.
          </Alert>
        )}
        {b.status === 'failed' && b.error && <ErrorAlert error={b.error} title="The backup failed" />}
        {b.status === 'cancelled' && <Alert severity="warning">The backup was stopped; nothing was left behind.</Alert>}
      </DialogContent>
      <DialogActions>
        {b.status === 'running' && (
          <Button color="warning" onClick={() => void b.cancel()}>
            Stop
          </Button>
        )}
        {b.status === 'done' && (
          <Button variant="contained" onClick={restore}>
            Write this backup to a card
          </Button>
        )}
        {b.status !== 'running' && b.status !== 'done' && (
          <Button variant="contained" disabled={!device || !/\.img\.zst$/.test(name)} onClick={() => void b.start(device!, name)}>
            Back up
          </Button>
        )}
        <Button
          onClick={() => {
            b.reset();
            onClose();
          }}
          disabled={b.status === 'running'}
        >
          Close
        </Button>
      </DialogActions>
    </Dialog>
  );
}
