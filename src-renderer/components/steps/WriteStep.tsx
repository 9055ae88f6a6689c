import { Alert, AlertTitle, Box, Button, LinearProgress, List, ListItem, Typography } from '@mui/material';
import { useState } from 'react';
import { formatBytes, formatDuration, formatRate } from '../../../src-shared/format';
import { fillNextSteps } from '../../../src-shared/board-guide';
import type { TargetProgress } from '../../../src-shared/flash';
import { useBuildStore } from '../../stores/build-store';
import { boardGuide, selectBoard, selectBox, useCatalogStore } from '../../stores/catalog-store';
import { useCustomizeStore } from '../../stores/customize-store';
import { useDrivesStore } from '../../stores/drives-store';
import { useFlashStore } from '../../stores/flash-store';
import { useSelectionStore } from '../../stores/selection-store';
import { useWizardStore } from '../../stores/wizard-store';
import { AnswersPanel } from '../AnswersPanel';
import { ConfirmDialog } from '../ConfirmDialog';
import { ErrorAlert } from '../ErrorAlert';
import { StepHeading } from '../StepHeading';

const GENERIC_STEPS = ['Remove the drive safely.', 'Insert it into the device and power it on.'];
const PHASES: Record<string, string> = {
  starting: 'Starting',
  decompressing: 'Writing',
  writing: 'Writing',
  verifying: 'Verifying',
  finishing: 'Finishing',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function TargetRow({ t }: { t: TargetProgress }) {
  const fraction = t.bytesTotal ? t.bytesDone / t.bytesTotal : null;
  const running = !['done', 'failed', 'cancelled'].includes(t.phase);
  return (
    <ListItem sx={{ display: 'block' }} aria-label={`${t.device}: ${PHASES[t.phase] ?? t.phase}`}>
      <Box sx={{ display: 'flex', gap: 2 }}>
        <Typography sx={{ flex: 1 }}>
          <strong>{t.device}</strong> — {PHASES[t.phase] ?? t.phase}
        </Typography>
        <Typography variant="caption">
          {formatBytes(t.bytesDone)}
          {t.bytesTotal !== null ? ` of ${formatBytes(t.bytesTotal)}` : ''}
          {running ? ` · ${formatRate(t.speed)}${t.etaSeconds !== null ? ` · ${formatDuration(t.etaSeconds)} left` : ''}` : ''}
        </Typography>
      </Box>
      <LinearProgress
        variant={fraction === null ? 'indeterminate' : 'determinate'}
        value={(fraction ?? 0) * 100}
        aria-label={`${t.device} ${PHASES[t.phase] ?? t.phase} progress`}
        color={t.phase === 'verifying' ? 'secondary' : 'primary'}
      />
      {t.error && (
        <Typography color="error" variant="body2">
          {t.error.message}
        </Typography>
      )}
    </ListItem>
  );
}

export function WriteStep() {
  const f = useFlashStore();
  const board = useCatalogStore(selectBoard(useSelectionStore((s) => s.board)));
  const box = useCatalogStore(selectBox(useSelectionStore((s) => s.box)));
  const mode = useSelectionStore((s) => s.mode);
  const built = useBuildStore((s) => s.result);
  const answersFile = mode === 'build' ? (built?.files.find((file) => file.kind === 'answers')?.path ?? null) : null;
  // An existing image is not the Box chosen earlier: give it the board's general steps.
  const customized = useCustomizeStore((s) => s.fields);
  const nextSteps = fillNextSteps(boardGuide(board, mode === 'build' ? box : undefined).nextSteps, {
    image: mode === 'build' ? built?.image : null,
    answers: answersFile,
    ...(mode === 'build' ? { user: customized.userName || null, hostname: customized.hostname } : {}),
  });
  const answersFor = answersFile && built ? built.historyId : null;
  const goTo = useWizardStore((s) => s.goTo);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const targets: TargetProgress[] =
    f.progress?.targets ?? f.targets.map((device) => ({ device, phase: 'starting', bytesDone: 0, bytesTotal: null, speed: 0, avgSpeed: 0, etaSeconds: null }));

  const again = () => {
    f.reset();
    useDrivesStore.getState().clearSelection();
    goTo('drive');
  };

  return (
    <section>
      <StepHeading>Write and verify</StepHeading>
      {f.status === 'running' && (
        <List aria-label="Drives being written">
          {targets.map((t) => (
            <TargetRow key={t.device} t={t} />
          ))}
        </List>
      )}
      {f.status === 'running' && (
        <Button color="warning" variant="outlined" onClick={() => setConfirmCancel(true)} disabled={f.cancelling}>
          {f.cancelling ? 'Cancelling…' : 'Cancel writing'}
        </Button>
      )}
      {f.status === 'done' && f.result && (
        <Alert severity="success" role="status" sx={{ my: 2 }}>
          <AlertTitle>Done: {f.result.targets.length === 1 ? 'the drive was' : `${f.result.targets.length} drives were`} written and verified</AlertTitle>
          {answersFor && <AnswersPanel historyId={answersFor} />}
          <Typography component="h3" variant="subtitle1" sx={{ mt: 1 }}>
            Next steps{board ? ` for ${board.title}` : ''}
          </Typography>
          {f.result.targets.some((t) => t.ejected) && <Typography>The drive was ejected: you can remove it now.</Typography>}
          <ol aria-label="Next steps">
            {(nextSteps.length ? nextSteps : GENERIC_STEPS).map((s) => (
              <li key={s}>{s}</li>
            ))}
          </ol>
        </Alert>
      )}
      {f.status === 'failed' && (
        <>
          <ErrorAlert
            error={f.error ?? { code: 'FLASH_FAILED', message: 'Writing failed.', hint: 'Try another drive or card reader.' }}
            title="Writing failed"
          />
          {f.result?.targets.filter((t) => t.state === 'blank-head').length ? (
            <Alert severity="info">The drive was left blank so it will not boot a half-written system.</Alert>
          ) : null}
        </>
      )}
      {f.status === 'cancelled' && (
        <Alert severity="warning" role="status" sx={{ my: 2 }}>
          Writing was cancelled.{' '}
          {f.result?.targets.some((t) => t.state === 'blank-head')
            ? 'The drive was left blank: it will not boot a half-written system.'
            : f.result && f.result.targets.every((t) => t.state === 'untouched')
              ? 'Nothing was written to the drive.'
              : 'Write the drive again before using it.'}
        </Alert>
      )}
      {f.status !== 'running' && (
        <Box sx={{ display: 'flex', gap: 2, mt: 2 }}>
          <Button variant="contained" onClick={again}>
            Write another drive
          </Button>
          <Button
            variant="outlined"
            onClick={() => {
              f.reset();
              goTo('box');
            }}
          >
            Start over
          </Button>
        </Box>
      )}
      <ConfirmDialog open={confirmCancel} title="Stop writing?" confirmLabel="Stop writing" danger onConfirm={f.cancel} onClose={() => setConfirmCancel(false)}>
        The drive will be left blank (no partition table) and will have to be written again.
      </ConfirmDialog>
    </section>
  );
}
