import { Alert, Box, Checkbox, Chip, FormControlLabel, List, ListItem, ListItemIcon, ListItemText, Typography } from '@mui/material';
import { useEffect, useState } from 'react';
import { driveLabel, type Drive } from '../../../src-shared/drives';
import { formatBytes } from '../../../src-shared/format';
import { checkTarget, visibleDrives } from '../../../src-shared/safety';
import { useDrivesStore } from '../../stores/drives-store';
import { useFlashStore } from '../../stores/flash-store';
import { useSelectionStore } from '../../stores/selection-store';
import { useWizardStore } from '../../stores/wizard-store';
import { currentWriteSource } from '../../stores/write-target';
import { ConfirmDialog } from '../ConfirmDialog';
import { ErrorAlert } from '../ErrorAlert';
import { StepHeading } from '../StepHeading';
import { StepNav } from '../StepNav';

export function DriveStep() {
  const { drives, selected, loaded, error, watch, toggle, eject, setEject } = useDrivesStore();
  const mode = useSelectionStore((s) => s.mode);
  const { next, back } = useWizardStore();
  const startFlash = useFlashStore((s) => s.start);
  const [confirm, setConfirm] = useState(false);
  useEffect(() => watch(), [watch]);

  const write = currentWriteSource();
  const shown = visibleDrives(drives, false);
  const hidden = drives.length - shown.length;
  const verdict = (d: Drive) => checkTarget(d, { imageSize: write?.imageSize ?? null, protectedPaths: write?.source.kind === 'file' ? [write.source.path] : [], allDrives: drives, includeSystem: false, confirmedSystemDevices: [] });
  const targets = shown.filter((d) => selected.includes(d.device) && verdict(d).allowed);

  const doWrite = async () => {
    if (!write) return;
    next(mode);
    await startFlash(write.source, write.bmap, targets.map((d) => d.device), { verify: true, eject });
  };

  return (
    <section>
      <StepHeading>Choose the drive</StepHeading>
      {write && <Typography sx={{ mb: 1 }}>Image: <code>{write.label}</code>{write.imageSize !== null ? ` (${formatBytes(write.imageSize)})` : ''}</Typography>}
      {error && <ErrorAlert error={error} title="The drives could not be listed" />}
      {loaded && shown.length === 0 && <Alert severity="info">Insert an SD card or a USB stick; it appears here by itself.</Alert>}
      <List aria-label="Drives">
        {shown.map((d) => {
          const v = verdict(d);
          const labelId = `drive-${d.device.replace(/\W/g, '_')}`;
          const reasons = v.refusals.map((r) => `${r.message}${r.hint ? ` ${r.hint}` : ''}`).join(' ');
          return (
            <ListItem key={d.device} disablePadding sx={{ alignItems: 'flex-start', opacity: v.allowed ? 1 : 0.75 }}>
              <ListItemIcon>
                <Checkbox
                  edge="start"
                  checked={selected.includes(d.device) && v.allowed}
                  disabled={!v.allowed}
                  onChange={() => toggle(d.device)}
                  slotProps={{ input: { 'aria-labelledby': labelId, 'aria-describedby': `${labelId}-why` } }}
                />
              </ListItemIcon>
              <ListItemText
                id={labelId}
                primary={driveLabel(d)}
                secondary={
                  <Box component="span" id={`${labelId}-why`} sx={{ display: 'block' }}>
                    {!v.allowed && <Box component="span" sx={{ display: 'block', color: 'error.main' }}>{reasons}</Box>}
                    {v.warnings.filter((w) => w.code === 'LARGE_DRIVE').map((w) => <Chip key={w.code} component="span" size="small" color="warning" label={`Large drive: ${w.message}`} sx={{ mt: 0.5 }} />)}
                  </Box>
                }
              />
            </ListItem>
          );
        })}
      </List>
      <FormControlLabel control={<Checkbox checked={eject} onChange={(e) => setEject(e.target.checked)} />} label="Eject when done" />
      {hidden > 0 && <Typography variant="caption" color="text.secondary">{hidden} system drive{hidden > 1 ? 's are' : ' is'} hidden to keep your computer safe.</Typography>}
      <StepNav onBack={() => back(mode)} onNext={() => setConfirm(true)} nextDisabled={!write || targets.length === 0} nextLabel={targets.length > 1 ? `Write ${targets.length} drives` : 'Write'} />
      <ConfirmDialog open={confirm} title="Erase and write?" confirmLabel="Erase and write" cancelLabel="Go back" danger onConfirm={doWrite} onClose={() => setConfirm(false)}>
        <Typography>Everything on these drives will be erased:</Typography>
        <ul>{targets.map((d) => <li key={d.device}><strong>{driveLabel(d)}</strong></li>)}</ul>
      </ConfirmDialog>
    </section>
  );
}
