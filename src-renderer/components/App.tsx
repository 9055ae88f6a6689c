import {
  Alert,
  AppBar,
  Box,
  Button,
  CircularProgress,
  Container,
  CssBaseline,
  Step,
  StepLabel,
  Stepper,
  ThemeProvider,
  Toolbar,
  Typography,
  useMediaQuery,
} from '@mui/material';
import { Suspense, lazy, useEffect, useMemo, useState, type ReactElement } from 'react';
import { useFlashStore } from '../stores/flash-store';
import { useKitStore } from '../stores/kit-store';
import { useSelectionStore } from '../stores/selection-store';
import { STEP_TITLES, stepsFor, useWizardStore, type StepId } from '../stores/wizard-store';
import { BoxStep } from './steps/BoxStep';
import { wizardTheme } from './theme';

// The Box screen is the initial route; the other steps load when first needed.
const BoardStep = lazy(() => import('./steps/BoardStep').then((m) => ({ default: m.BoardStep })));
const CustomizeStep = lazy(() => import('./steps/CustomizeStep').then((m) => ({ default: m.CustomizeStep })));
const BuildStep = lazy(() => import('./steps/BuildStep').then((m) => ({ default: m.BuildStep })));
const DriveStep = lazy(() => import('./steps/DriveStep').then((m) => ({ default: m.DriveStep })));
const WriteStep = lazy(() => import('./steps/WriteStep').then((m) => ({ default: m.WriteStep })));
const HistoryDialog = lazy(() => import('./HistoryDialog').then((m) => ({ default: m.HistoryDialog })));
const OfflineKitDialog = lazy(() => import('./OfflineKitDialog').then((m) => ({ default: m.OfflineKitDialog })));
const BackupDialog = lazy(() => import('./BackupDialog').then((m) => ({ default: m.BackupDialog })));

const SCREENS: Record<StepId, () => ReactElement> = {
  box: () => <BoxStep />,
  board: () => <BoardStep />,
  customize: () => <CustomizeStep />,
  build: () => <BuildStep />,
  drive: () => <DriveStep />,
  write: () => <WriteStep />,
};

function useWarnBeforeLeavingDuringWrite() {
  const writing = useFlashStore((s) => s.status === 'running');
  useEffect(() => {
    if (!writing) return;
    const onBeforeUnload = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, [writing]);
}

export function Wizard({ disconnected = false }: { disconnected?: boolean }) {
  const step = useWizardStore((s) => s.step);
  const mode = useSelectionStore((s) => s.mode);
  const [history, setHistory] = useState(false);
  const kitOpen = useKitStore((s) => s.dialogOpen);
  const setKitOpen = useKitStore((s) => s.setDialogOpen);
  const [backup, setBackup] = useState(false);
  const steps = stepsFor(mode);
  useWarnBeforeLeavingDuringWrite();
  return (
    <>
      <AppBar position="static" color="default" elevation={0}>
        <Toolbar>
          <Typography variant="h6" component="h1" sx={{ flex: 1 }}>
            Nexus Imager
          </Typography>
          <Button onClick={() => setBackup(true)}>Back up a card</Button>
          <Button onClick={() => setKitOpen(true)}>Offline kit</Button>
          <Button onClick={() => setHistory(true)}>Build history</Button>
        </Toolbar>
      </AppBar>
      <Container component="main" maxWidth="lg" sx={{ py: 3 }}>
        {disconnected && (
          <Alert severity="error" role="alert" sx={{ mb: 2 }}>
            The connection to Nexus Imager was lost. Check that "nexus serve" is running, then reload the page.
          </Alert>
        )}
        <Stepper activeStep={steps.indexOf(step)} sx={{ mb: 3 }} aria-label="Progress through the wizard">
          {steps.map((s) => (
            <Step key={s}>
              <StepLabel>{s === 'box' && mode === 'image' ? 'Choose an image' : STEP_TITLES[s]}</StepLabel>
            </Step>
          ))}
        </Stepper>
        <Suspense fallback={<CircularProgress aria-label="Loading" />}>{SCREENS[step]()}</Suspense>
      </Container>
      {history && (
        <Suspense fallback={null}>
          <HistoryDialog open={history} onClose={() => setHistory(false)} />
        </Suspense>
      )}
      {kitOpen && (
        <Suspense fallback={null}>
          <OfflineKitDialog open={kitOpen} onClose={() => setKitOpen(false)} />
        </Suspense>
      )}
      {backup && (
        <Suspense fallback={null}>
          <BackupDialog open={backup} onClose={() => setBackup(false)} />
        </Suspense>
      )}
    </>
  );
}

/** Light or dark, following the OS. */
export function App({ disconnected }: { disconnected?: boolean }) {
  const dark = useMediaQuery('(prefers-color-scheme: dark)');
  const theme = useMemo(() => wizardTheme(dark), [dark]);
  return (
    <ThemeProvider theme={theme}>
      <CssBaseline />
      <Box sx={{ minHeight: '100vh' }}>
        <Wizard disconnected={disconnected ?? false} />
      </Box>
    </ThemeProvider>
  );
}
