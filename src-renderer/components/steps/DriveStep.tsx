import { Alert, Box, Button, Checkbox, Chip, FormControlLabel, LinearProgress, List, ListItem, ListItemIcon, ListItemText, Typography } from '@mui/material';
import { useEffect, useState } from 'react';
import { driveLabel, type Drive } from '../../../src-shared/drives';
import { formatBytes } from '../../../src-shared/format';
import { checkTarget, isHiddenVirtual, visibleDrives, type TargetVerdict } from '../../../src-shared/safety';
import { useDrivesStore } from '../../stores/drives-store';
import { useFlashStore } from '../../stores/flash-store';
import { useImageFetchStore, useImageSizeStore } from '../../stores/image-size-store';
import { useSelectionStore } from '../../stores/selection-store';
import { useWizardStore } from '../../stores/wizard-store';
import { currentWriteSource } from '../../stores/write-target';
import { ConfirmDialog } from '../ConfirmDialog';
import { ErrorAlert } from '../ErrorAlert';
import { StepHeading } from '../StepHeading';
import { StepNav } from '../StepNav';

/** The image's size, counted in main when its file does not record it; drives wait for it. */
function SizeCount({ path }: { path: string }) {
  const s = useImageSizeStore();
  useEffect(() => void s.measure(path), [path, s.measure]);
  if (s.path !== path || s.status === 'done') return null;
  if (s.status === 'failed' && s.error) return <ErrorAlert error={s.error} title="The image's size could not be counted" />;
  const pct = s.total > 0 ? Math.min(100, (100 * s.read) / s.total) : 0;
  return (
    <Box role="status" sx={{ my: 2 }}>
      <Typography variant="body2">Counting how much this compressed image needs on the drive (its file does not say)… {Math.floor(pct)}%</Typography>
      <LinearProgress variant={s.total > 0 ? 'determinate' : 'indeterminate'} value={pct} aria-label="Counting the image size" />
      <Button size="small" onClick={() => void s.cancel()} sx={{ mt: 1 }}>
        Stop counting
      </Button>
    </Box>
  );
}

/**
 * An image from a URL is streamed onto the cards (checked against its SHA-256 at the end, before the first MiB is
 * written), so its size is unknown here; "Download and check it first" fetches it beforehand (image.fetch) and
 * the drives are then judged by its real size.
 */
function UrlDownload({ url, sha256 }: { url: string; sha256: string }) {
  const f = useImageFetchStore();
  if (f.url !== url || f.status === 'idle') {
    return (
      <Alert severity="info" sx={{ my: 1 }} action={<Button onClick={() => void f.fetch(url, sha256)}>Download and check it first</Button>}>
        The size of a download is known only once it is here: a card that turns out too small is left blank, never half-written.
      </Alert>
    );
  }
  if (f.status === 'done') return null;
  if (f.status === 'failed' && f.error) return <ErrorAlert error={f.error} title="The image could not be downloaded" />;
  return (
    <Box role="status" sx={{ my: 2 }}>
      <Typography variant="body2">Downloading and checking the image: {formatBytes(f.received)} so far…</Typography>
      <LinearProgress aria-label="Downloading the image" />
      <Button size="small" onClick={() => void f.cancel()} sx={{ mt: 1 }}>
        Stop the download
      </Button>
    </Box>
  );
}

export function DriveStep() {
  const { drives, selected, loaded, error, watch, toggle, eject, setEject, showVirtual, setShowVirtual, busy, selectFor } = useDrivesStore();
  const mode = useSelectionStore((s) => s.mode);
  const { next, back } = useWizardStore();
  const startFlash = useFlashStore((s) => s.start);
  useImageSizeStore((s) => s.status); // re-render when the count ends
  const [confirm, setConfirm] = useState(false);
  useEffect(() => watch(), [watch]);

  const write = currentWriteSource();
  useEffect(() => {
    if (write) selectFor(write.key);
  }, [write?.key, selectFor]);
  const downloading = useImageFetchStore((s) => s.status === 'downloading');
  const sizeKnown = !(write?.needsDownload && downloading) && (!write?.needsCount || write.imageSize !== null);
  const safe = visibleDrives(drives, false);
  const shown = safe.filter((d) => showVirtual || !isHiddenVirtual(d));
  const hiddenSystem = drives.length - safe.length;
  const hiddenVirtual = safe.length - shown.length;
  const busyBy = (d: Drive) => busy.find((w) => w.targets.includes(d.device));
  const verdict = (d: Drive): TargetVerdict => {
    const v = checkTarget(d, {
      imageSize: write?.imageSize ?? null,
      protectedPaths: write?.source.kind === 'file' ? [write.source.path] : [],
      allDrives: drives,
      includeSystem: false,
      confirmedSystemDevices: [],
    });
    const w = busyBy(d);
    if (!w) return v;
    return {
      ...v,
      allowed: false,
      refusals: [
        { code: 'DRIVE_BUSY', message: `In use: Nexus Imager is writing ${w.source.split('/').at(-1)} to it.`, hint: 'Wait for that write to finish.' },
        ...v.refusals,
      ],
    };
  };
  const targets = shown.filter((d) => selected.includes(d.device) && verdict(d).allowed);

  const doWrite = async () => {
    if (!write) return;
    next(mode);
    await startFlash(
      write.source,
      write.bmap,
      targets.map((d) => d.device),
      { verify: true, eject },
    );
  };

  return (
    <section>
      <StepHeading>Choose the drive</StepHeading>
      {write && (
        <Typography sx={{ mb: 1 }}>
          Image: <code>{write.label}</code>
          {write.imageSize !== null ? ` (needs ${formatBytes(write.imageSize)} on the drive)` : ''}
        </Typography>
      )}
      {write?.needsDownload && write.source.kind === 'url' && <UrlDownload url={write.source.url} sha256={write.source.sha256} />}
      {write?.needsCount && write.source.kind === 'file' && <SizeCount path={write.source.path} />}
      {error && <ErrorAlert error={error} title="The drives could not be listed" />}
      {busy.length > 0 && (
        <Alert severity="info" sx={{ mb: 1 }}>
          A write is running: {busy.map((w) => `${w.source.split('/').at(-1)} → ${w.targets.join(', ')}`).join('; ')}.
        </Alert>
      )}
      {loaded && shown.length === 0 && <Alert severity="info">Insert an SD card or a USB stick; it appears here by itself.</Alert>}
      <List aria-label="Drives">
        {shown.map((d) => {
          const v = verdict(d);
          const usable = v.allowed && sizeKnown;
          const labelId = `drive-${d.device.replace(/\W/g, '_')}`;
          const reasons = v.refusals.map((r) => `${r.message}${r.hint ? ` ${r.hint}` : ''}`).join(' ');
          return (
            <ListItem key={d.device} disablePadding sx={{ alignItems: 'flex-start' }}>
              <ListItemIcon>
                <Checkbox
                  edge="start"
                  checked={selected.includes(d.device) && usable}
                  disabled={!usable}
                  onChange={() => toggle(d.device)}
                  slotProps={{ input: { 'aria-labelledby': labelId, 'aria-describedby': `${labelId}-why` } }}
                />
              </ListItemIcon>
              <ListItemText
                id={labelId}
                primary={driveLabel(d)}
                secondary={
                  <Box component="span" id={`${labelId}-why`} sx={{ display: 'block' }}>
                    {!v.allowed && (
                      <Box component="span" sx={{ display: 'block', color: 'error.dark', fontWeight: 500 }}>
                        {reasons}
                      </Box>
                    )}
                    {v.allowed && !sizeKnown && (
                      <Box component="span" sx={{ display: 'block' }}>
                        Waiting for the image's size.
                      </Box>
                    )}
                    {v.warnings
                      .filter((w) => w.code === 'LARGE_DRIVE')
                      .map((w) => (
                        <Chip key={w.code} component="span" size="small" color="warning" label={`Large drive: ${w.message}`} sx={{ mt: 0.5 }} />
                      ))}
                  </Box>
                }
              />
            </ListItem>
          );
        })}
      </List>
      <FormControlLabel control={<Checkbox checked={eject} onChange={(e) => setEject(e.target.checked)} />} label="Eject when done" />
      {(hiddenVirtual > 0 || showVirtual) && (
        <FormControlLabel
          control={<Checkbox checked={showVirtual} onChange={(e) => setShowVirtual(e.target.checked)} />}
          label={`Show virtual drives${hiddenVirtual > 0 ? ` (${hiddenVirtual} hidden: RAM, loop or network devices, never an SD card)` : ''}`}
        />
      )}
      {hiddenSystem > 0 && (
        <Typography variant="caption" component="p">
          {hiddenSystem} system drive{hiddenSystem > 1 ? 's are' : ' is'} hidden to keep your computer safe.
        </Typography>
      )}
      <StepNav
        onBack={() => back(mode)}
        onNext={() => setConfirm(true)}
        nextDisabled={!write || !sizeKnown || targets.length === 0}
        nextLabel={targets.length > 1 ? `Write ${targets.length} drives` : 'Write'}
      />
      <ConfirmDialog
        open={confirm}
        title="Erase and write?"
        confirmLabel="Erase and write"
        cancelLabel="Go back"
        danger
        onConfirm={doWrite}
        onClose={() => setConfirm(false)}
      >
        <Typography>Everything on these drives will be erased:</Typography>
        <ul>
          {targets.map((d) => (
            <li key={d.device}>
              <strong>{driveLabel(d)}</strong>
            </li>
          ))}
        </ul>
      </ConfirmDialog>
    </section>
  );
}
