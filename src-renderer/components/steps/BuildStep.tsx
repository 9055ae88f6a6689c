import {
  Accordion,
  AccordionDetails,
  AccordionSummary,
  Alert,
  AlertTitle,
  Box,
  Button,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@mui/material';
import { cardFitText } from '../../../src-shared/card-sizes';
import { BuildProgress } from '../BuildProgress';
import { WarningList } from '../WarningList';
import { useEffect, useState } from 'react';
import { toCustomization } from '../../stores/customize-validation';
import { formatBytes } from '../../../src-shared/format';
import type { Req } from '../../../src-shared/contract';

type BuildRequest = Req<'build.start'>['build'];
import { useBuildStore } from '../../stores/build-store';
import { selectBoard, selectBox, useCatalogStore } from '../../stores/catalog-store';
import { selectIsValid, useCustomizeStore } from '../../stores/customize-store';
import { useSelectionStore } from '../../stores/selection-store';
import { useWizardStore } from '../../stores/wizard-store';
import { ConfirmDialog } from '../ConfirmDialog';
import { ErrorAlert } from '../ErrorAlert';
import { MIRROR_UNREACHABLE } from '../../../src-shared/offline-kit';
import { useKitStore } from '../../stores/kit-store';
import { OfflineBuildOffer } from '../OfflineBuildOffer';
import { LogPanel } from '../LogPanel';
import { StageList } from '../StageList';
import { StepHeading } from '../StepHeading';
import { StepNav } from '../StepNav';
import { VmConsole } from '../VmConsole';

/** Output files in plain words (the engine's kind in brackets for those who know it). */
const FILE_KINDS: Record<string, string> = {
  image: 'Disk image',
  checksum: 'SHA-256 checksum',
  bmap: 'Block map (writes only the used blocks)',
  manifest: 'Build record (manifest)',
  sbom: 'Software bill of materials',
  lock: 'Exact package versions',
  compressed: 'Compressed copy',
  'console-log': 'VM console log',
  answers: 'OpenBSD install answers',
};

/** Identifies the choices a build was made from (no secrets: only whether a password is set). */
function selectionKey(): string {
  const { box, arch, board } = useSelectionStore.getState();
  const { fields, fragments, branch } = useCustomizeStore.getState();
  const { password: _p, passwordConfirm: _c, wifiPassphrase: _w, ...rest } = fields;
  return JSON.stringify({ box, arch, board, fragments, branch, rest, pw: !!fields.password, wp: !!fields.wifiPassphrase });
}

export function BuildStep() {
  const { box, arch, board } = useSelectionStore();
  const boardView = useCatalogStore(selectBoard(board));
  const customizeValid = useCustomizeStore(selectIsValid);
  const fragments = useCustomizeStore((s) => s.fragments);
  const branch = useCustomizeStore((s) => s.branch);
  // An official image is an installer: it has no Nexus boot marker to wait for in a VM.
  const installer = useCatalogStore(selectBox(box))?.recipe === 'official-image';
  const b = useBuildStore();
  const { next, back } = useWizardStore();
  const [confirmCancel, setConfirmCancel] = useState(false);
  const stale = b.status === 'done' && b.builtKey !== selectionKey();
  const resolvePlan = b.resolvePlan;
  useEffect(() => {
    const fields = useCustomizeStore.getState().fields;
    // The preview needs no password hash: it does not change the packages or the layout.
    void resolvePlan({
      profile: box!,
      ...(arch ? { arch } : {}),
      ...(board ? { target: board } : {}),
      ...(fragments ? { fragments } : {}),
      ...(branch ? { branch } : {}),
      customization: toCustomization({ ...fields, password: '' }),
    });
  }, [box, arch, board, fragments, branch, resolvePlan]);
  const plan = b.plan.value;

  // The password is hashed (in main) as part of starting; a failure there shows like any build error.
  const start = (offline = false) =>
    b.start(
      async (): Promise<BuildRequest> => {
        const customization = await useCustomizeStore.getState().prepare();
        return {
          profile: box!,
          ...(arch ? { arch } : {}),
          ...(board ? { target: board } : {}),
          ...(fragments ? { fragments } : {}),
          ...(branch ? { branch } : {}),
          customization,
        };
      },
      selectionKey(),
      { offline },
    );

  return (
    <section>
      <StepHeading>Build</StepHeading>
      <Typography sx={{ mb: 1 }}>
        {box} for the {boardView?.title ?? board} ({arch}){fragments?.length ? ` with ${fragments.join(', ')}` : ''}
      </Typography>
      {plan && (
        <Typography variant="body2" color="text.secondary" sx={{ mb: 2 }} aria-label="Build plan">
          {plan.packages.length} packages · {plan.partitionTable.toUpperCase()}:{' '}
          {plan.partitions.map((p) => `${p.label} (${p.filesystem}${p.sizeMiB === 'auto' ? '' : `, ${p.sizeMiB} MiB`})`).join(', ') || 'official image layout'}
        </Typography>
      )}
      {b.status !== 'done' && plan && <WarningList warnings={plan.warnings} label="Before you build" />}
      {b.plan.error && <ErrorAlert error={b.plan.error} title="These choices cannot be built" />}
      {!customizeValid && (
        <Alert severity="error" role="alert" sx={{ mb: 2 }}>
          Some settings need your attention: go back to Customize (for example, a password to enter again after a reload).
        </Alert>
      )}
      {(b.status === 'idle' || stale || b.status === 'failed' || b.status === 'cancelled') && (
        <Button variant="contained" onClick={() => start()} disabled={!!b.plan.error || !customizeValid}>
          {b.status === 'idle' ? 'Start build' : 'Build again'}
        </Button>
      )}
      {stale && (
        <Alert severity="info" sx={{ mt: 2 }}>
          Your choices changed since this image was built: build again to apply them.
        </Alert>
      )}
      {b.status === 'running' && (
        <Button color="warning" variant="outlined" onClick={() => setConfirmCancel(true)} disabled={b.cancelling}>
          {b.cancelling ? 'Cancelling…' : 'Cancel build'}
        </Button>
      )}
      {b.stages.length > 0 && <BuildProgress stages={b.stages} startedAt={b.startedAt} running={b.status === 'running'} />}
      <StageList stages={b.stages} />
      {b.log.length > 0 && <LogPanel log={b.log} />}
      {b.status === 'failed' && b.error && <ErrorAlert error={b.error} title="The build failed" />}
      {b.status === 'failed' && b.error?.code === MIRROR_UNREACHABLE && (
        <OfflineBuildOffer onBuildOffline={() => start(true)} onOpenKit={() => useKitStore.getState().setDialogOpen(true)} />
      )}
      {b.status === 'cancelled' && (
        <Alert severity="warning" role="status" sx={{ my: 2 }}>
          The build was cancelled. Nothing was left behind.
        </Alert>
      )}
      {b.status === 'done' && b.result && (
        <Box sx={{ my: 2 }}>
          <Alert severity="success" role="status">
            <AlertTitle>Image ready</AlertTitle>
            {cardFitText(b.result.size)} {b.result.packageCount} packages.
          </Alert>
          <WarningList warnings={b.result.warnings} label="Build warnings" />
          <Accordion disableGutters sx={{ mt: 1 }}>
            <AccordionSummary aria-controls="build-files" id="build-files-header">
              <Typography>Details: files and checksum</Typography>
            </AccordionSummary>
            <AccordionDetails id="build-files">
              <Typography variant="body2" sx={{ mb: 1, wordBreak: 'break-all' }}>
                SHA-256 <code>{b.result.sha256}</code>
              </Typography>
              <Table size="small" aria-label="Output files">
                <TableHead>
                  <TableRow>
                    <TableCell>File</TableCell>
                    <TableCell>What it is</TableCell>
                    <TableCell align="right">Size</TableCell>
                  </TableRow>
                </TableHead>
                <TableBody>
                  {b.result.files.map((f) => (
                    <TableRow key={f.path}>
                      <TableCell sx={{ wordBreak: 'break-all' }}>{f.path}</TableCell>
                      <TableCell title={f.kind}>{FILE_KINDS[f.kind] ?? f.kind}</TableCell>
                      <TableCell align="right">{formatBytes(f.size)}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </AccordionDetails>
          </Accordion>
          {/* Only VM boards offer it (VmConsole says why not for hardware); an installer has no marker to wait for. */}
          {!installer && <VmConsole historyId={b.result.historyId} board={boardView} />}
        </Box>
      )}
      <StepNav onBack={() => back('build')} onNext={() => next('build')} nextDisabled={b.status !== 'done' || stale} nextLabel="Next: choose the drive" />
      <ConfirmDialog
        open={confirmCancel}
        title="Cancel the build?"
        confirmLabel="Cancel build"
        danger
        onConfirm={b.cancel}
        onClose={() => setConfirmCancel(false)}
      >
        The work done so far is thrown away; downloaded packages stay in the cache.
      </ConfirmDialog>
    </section>
  );
}
