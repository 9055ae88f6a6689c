import { Box, Button } from '@mui/material';
import type { ReactNode } from 'react';

interface Props {
  onBack?: () => void;
  onNext?: () => void;
  nextLabel?: string;
  nextDisabled?: boolean;
  children?: ReactNode;
}

/** Back / Next at the bottom of every step. */
export function StepNav({ onBack, onNext, nextLabel = 'Next', nextDisabled, children }: Props) {
  return (
    <Box component="nav" aria-label="Wizard navigation" sx={{ display: 'flex', gap: 2, mt: 3, alignItems: 'center' }}>
      {onBack && <Button variant="outlined" onClick={onBack}>Back</Button>}
      <Box sx={{ flex: 1 }}>{children}</Box>
      {onNext && <Button variant="contained" onClick={onNext} disabled={nextDisabled}>{nextLabel}</Button>}
    </Box>
  );
}
