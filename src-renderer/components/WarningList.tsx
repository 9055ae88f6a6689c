import { Alert, AlertTitle, Box } from '@mui/material';
import { rankWarnings } from '../../src-shared/warning-rank';

/** Warnings, the ones that stop the image doing what was asked first ("Needs your attention"), then "Good to know". */
export function WarningList({ warnings, label }: { warnings: readonly string[]; label: string }) {
  const ranked = rankWarnings(warnings);
  const blocking = ranked.filter((w) => w.rank === 'blocking');
  const minor = ranked.filter((w) => w.rank === 'worth-knowing');
  if (!ranked.length) return null;
  return (
    <Box component="section" aria-label={label} sx={{ my: 2, display: 'grid', gap: 1 }}>
      {blocking.length > 0 && (
        <Alert severity="error">
          <AlertTitle>Needs your attention</AlertTitle>
          <ul style={{ margin: 0, paddingLeft: '1.2em' }}>
            {blocking.map((w) => (
              <li key={w.text}>{w.text}</li>
            ))}
          </ul>
        </Alert>
      )}
      {minor.length > 0 && (
        <Alert severity="info">
          <AlertTitle>Good to know</AlertTitle>
          <ul style={{ margin: 0, paddingLeft: '1.2em' }}>
            {minor.map((w) => (
              <li key={w.text}>{w.text}</li>
            ))}
          </ul>
        </Alert>
      )}
    </Box>
  );
}
