/**
 * The wizard's theme: MUI's palette with a visible focus ring on everything focusable (MUI's default is a faint
 * grey fill on cards), and text colours that keep 4.5:1 contrast on their background in light and dark mode.
 */
import { createTheme, type Theme } from '@mui/material';

export function wizardTheme(dark: boolean): Theme {
  // MUI's default light primary (#1976d2) is 4.2:1 on the app bar's grey; blue 800 is 5.2:1 there, 5.7:1 on white.
  const base = createTheme({ palette: dark ? { mode: 'dark' } : { mode: 'light', primary: { main: '#1565c0' } } });
  const ring = { outline: `3px solid ${base.palette.primary.main}`, outlineOffset: 2 };
  return createTheme(base, {
    components: {
      MuiButtonBase: { styleOverrides: { root: { '&.Mui-focusVisible': ring } } },
      MuiCardActionArea: { styleOverrides: { root: { '&.Mui-focusVisible': { ...ring, outlineOffset: -3 } } } },
      MuiInputBase: { styleOverrides: { root: { '&.Mui-focused': { outline: 'none' } } } },
      MuiCssBaseline: { styleOverrides: { ':focus-visible': ring } },
    },
  });
}
