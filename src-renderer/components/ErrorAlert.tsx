import { Alert, AlertTitle } from '@mui/material';
import type { ErrorInfo } from '../../src-shared/contract';

/** An error as {code, message, hint}: what happened, and what to try. */
export function ErrorAlert({ error, title }: { error: ErrorInfo; title?: string }) {
  return (
    <Alert severity="error" role="alert" sx={{ my: 2 }}>
      <AlertTitle>{title ?? 'Something went wrong'}</AlertTitle>
      {error.message}
      {error.hint && (
        <div>
          <strong>What to try:</strong> {error.hint}
        </div>
      )}
      <div style={{ fontSize: '0.8em' }}>Error code: {error.code}</div>
    </Alert>
  );
}
