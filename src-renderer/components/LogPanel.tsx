import { Accordion, AccordionDetails, AccordionSummary, Box, Typography } from '@mui/material';
import { useEffect, useRef } from 'react';
import type { LogEvent } from '../../src-shared/progress';

/** The live log, collapsed by default; follows the newest line while open. */
export function LogPanel({ log }: { log: LogEvent[] }) {
  const end = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // Braces matter: recent Chromium returns a Promise from scrollIntoView, and an effect must return nothing.
    void end.current?.scrollIntoView?.({ block: 'nearest' });
  }, [log.length]);
  return (
    <Accordion disableGutters>
      <AccordionSummary aria-controls="build-log" id="build-log-header">
        <Typography>Live log ({log.length} lines)</Typography>
      </AccordionSummary>
      <AccordionDetails>
        <Box id="build-log" role="log" aria-live="polite" aria-label="Build log" component="pre" sx={{ maxHeight: 260, overflow: 'auto', fontSize: 12, m: 0 }}>
          {log.map((l) => `${l.level === 'info' ? '' : `${l.level.toUpperCase()} `}[${l.stage}] ${l.message}`).join('\n')}
          <div ref={end} />
        </Box>
      </AccordionDetails>
    </Accordion>
  );
}
