import { Autocomplete, TextField, createFilterOptions } from '@mui/material';
import { useRef } from 'react';
import type { Choice, Fixed } from '../../src-shared/locales';

interface Props {
  id: string;
  label: string;
  choices: readonly Choice[];
  value: string;
  onChange(value: string): void;
  error?: string | undefined;
  help?: string | undefined;
  /** Maps what is typed to a choice's value ("UK" → "GB"): that choice is offered first, and picking it reports the note. */
  aliases?: (typed: string) => Fixed;
  onAlias?: (note: string) => void;
}

const byLabel = createFilterOptions<Choice>({ stringify: (c) => `${c.label} ${c.value}` });

/** A searchable dropdown over a fixed list (time zones, countries, keyboards, locales): type to filter, arrows and Enter to pick. */
export function ChoiceField({ id, label, choices, value, onChange, error, help, aliases, onAlias }: Props) {
  // A remembered value outside the list (e.g. "fr(azerty)" from the CLI) stays visible and selected.
  const options = value && !choices.some((c) => c.value === value) ? [{ value, label: value }, ...choices] : choices;
  const selected = options.find((c) => c.value === value) ?? null;
  const alias = useRef<{ value: string; note: string } | null>(null);
  return (
    <Autocomplete
      id={id}
      options={options}
      value={selected}
      autoHighlight
      fullWidth
      size="small"
      getOptionLabel={(c) => c.label}
      isOptionEqualToValue={(a, b) => a.value === b.value}
      filterOptions={(opts, state) => {
        const matches = byLabel(opts, state);
        const fixed = aliases?.(state.inputValue);
        const exact = fixed ? opts.find((c) => c.value === fixed.value) : undefined;
        alias.current = exact && fixed?.note ? { value: exact.value, note: fixed.note } : null;
        return exact ? [exact, ...matches.filter((c) => c !== exact)] : matches;
      }}
      onChange={(_, c) => {
        if (!c) return;
        onChange(c.value);
        if (alias.current?.value === c.value) onAlias?.(alias.current.note);
      }}
      renderInput={(params) => <TextField {...params} label={label} error={!!error} helperText={error ?? help ?? ' '} />}
    />
  );
}
