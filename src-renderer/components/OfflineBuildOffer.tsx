import { Alert, AlertTitle, Button } from '@mui/material';

/**
 * Shown when a build failed because no package mirror answered (MIRROR_UNREACHABLE): build from what the cache
 * holds (an imported offline kit, or earlier downloads) instead. An offline build that lacks something says exactly
 * what, and that an offline kit brings it.
 */
export function OfflineBuildOffer({ onBuildOffline, onOpenKit }: { onBuildOffline: () => void; onOpenKit: () => void }) {
  return (
    <Alert severity="info" sx={{ my: 2 }} action={<Button color="inherit" onClick={onOpenKit}>Import an offline kit…</Button>}>
      <AlertTitle>No network? Build without a mirror</AlertTitle>
      Everything this build needs can come from an offline kit imported here, or from packages downloaded earlier.
      <div><Button variant="contained" size="small" sx={{ mt: 1 }} onClick={onBuildOffline}>Build from the offline kit</Button></div>
    </Alert>
  );
}
