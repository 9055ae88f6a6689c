import { Box, Button } from '@mui/material';
import type { ReactNode } from 'react';

interface Props {
  onBack?: () => void;
  onNext?: () => void;
  nextLabel?: string;
  nextDisabled?: boolean;
  children?: ReactNode;
}

/** Back / Next at the bottom of every step, kept in view (sticky) however long the step is, at 800×600 too. */
export function StepNav({ onBack, onNext, nextLabel = 'Next', nextDisabled, children }: Props) {
  return (
    <Box
      component="nav"
      aria-label="Wizard navigation"
      sx={{
        display: 'flex',
        gap: 2,
        mt: 3,
        alignItems: 'center',
        position: 'sticky',
        bottom: 0,
        zIndex: 2,
        py: 1.5,
        bgcolor: 'background.default',
        borderTop: 1,
        borderColor: 'divider',
      }}
    >
      {onBack && (
        <Button variant="outlined" onClick={onBack}>
          Back
        </Button>
      )}
      <Box sx={{ flex: 1 }}>{children}</Box>
      {onNext && (
        <Button variant="contained" onClick={onNext} disabled={nextDisabled}>
          {nextLabel}
        </Button>
      )}
    </Box>
  );
}
