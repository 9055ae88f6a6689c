import { Button, Card, CardActionArea, CardActions, CardContent, Chip, Collapse, Stack, Typography } from '@mui/material';
import { useState } from 'react';
import { boxIntro } from '../../src-shared/box-intro';
import type { BoxView } from '../../src-shared/contract';

function budgetText(b: BoxView): string {
  const s = b.budgets.sizeMiB;
  const size = s
    ? s.min !== undefined && s.max !== undefined
      ? `${s.min}–${s.max} MiB of data`
      : s.max !== undefined
        ? `≤ ${s.max} MiB of data`
        : `≥ ${s.min} MiB of data`
    : 'size set by upstream';
  const p = b.budgets.packages;
  const pk = p.max !== undefined ? `≤ ${p.max} packages` : p.min !== undefined ? `≥ ${p.min} packages` : '';
  return [size, pk].filter(Boolean).join(', ');
}

/**
 * A Box as a newcomer meets it: its name, one plain headline and what it is good for. The tier, the technical
 * description, packages, budgets and architectures are one "Details" press away.
 */
export function BoxCard({ box, selected, unavailable, onSelect }: { box: BoxView; selected: boolean; unavailable: string | null; onSelect: () => void }) {
  const [open, setOpen] = useState(false);
  const intro = boxIntro(box);
  const detailsId = `box-details-${box.name}`;
  return (
    <Card
      variant="outlined"
      sx={{ borderColor: selected ? 'primary.main' : undefined, borderWidth: selected ? 2 : 1, display: 'flex', flexDirection: 'column' }}
    >
      <CardActionArea
        onClick={onSelect}
        disabled={!!unavailable}
        aria-pressed={selected}
        sx={{ flex: 1, display: 'flex', flexDirection: 'column', alignItems: 'stretch', justifyContent: 'flex-start' }}
      >
        <CardContent sx={{ pb: 1 }}>
          {/* The button's name is its visible text, starting "tinybox: The Spark" (WCAG 2.5.3, label in name). */}
          <Typography variant="h6" component="h3">
            {box.name}:{' '}
            <Typography component="span" variant="body1" color="text.secondary">
              {box.nickname}
            </Typography>
          </Typography>
          <Typography variant="body1" sx={{ my: 1 }}>
            {unavailable ?? intro.headline}
          </Typography>
          <Typography variant="body2" color="text.secondary">
            <strong>Good for:</strong> {intro.goodFor}
          </Typography>
        </CardContent>
      </CardActionArea>
      <CardActions sx={{ pt: 0 }}>
        <Button
          size="small"
          onClick={() => setOpen(!open)}
          aria-expanded={open}
          aria-controls={detailsId}
          aria-label={`${open ? 'Hide details' : 'Details'} of ${box.name}`}
        >
          {open ? 'Hide details' : 'Details'}
        </Button>
      </CardActions>
      <Collapse in={open} id={detailsId} unmountOnExit>
        <CardContent sx={{ pt: 0 }}>
          <Stack direction="row" spacing={1} sx={{ alignItems: 'center', mb: 1 }}>
            <Chip size="small" label={box.tier} />
            <Typography variant="body2" color="text.secondary">
              {box.philosophy}
            </Typography>
          </Stack>
          <Typography variant="body2" sx={{ mb: 1 }}>
            {box.description}
          </Typography>
          {box.packages.length > 0 && (
            <Typography variant="body2">
              <strong>Inside:</strong> {box.packages.slice(0, 8).join(', ')}
              {box.packages.length > 8 ? ', …' : ''}
            </Typography>
          )}
          <Typography variant="body2">
            <strong>Budget:</strong> {budgetText(box)}
          </Typography>
          <Typography variant="body2">
            <strong>Architectures:</strong> {box.architectures.join(', ')}
          </Typography>
          {box.notes.length > 0 && (
            <Typography variant="body2" sx={{ mt: 1 }}>
              {box.notes[0]}
            </Typography>
          )}
        </CardContent>
      </Collapse>
    </Card>
  );
}
