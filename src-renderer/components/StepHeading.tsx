import { Typography } from '@mui/material';
import { useEffect, useRef } from 'react';

/** The step's title; it takes the focus when the step appears, so keyboard and screen-reader users start at the top. */
export function StepHeading({ children }: { children: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <Typography variant="h5" component="h2" tabIndex={-1} ref={ref} sx={{ mb: 2, outline: 'none' }}>
      {children}
    </Typography>
  );
}
