import { Box, Card, CardActionArea, CardContent, Typography } from '@mui/material';
import type { BoardView } from '../../src-shared/contract';
import { useCatalogStore } from '../stores/catalog-store';
import { boxFitsBoard, useSelectionStore } from '../stores/selection-store';

/** "What is it for?": the devices a newcomer recognises, each standing for one board. */
const DEVICES: ReadonlyArray<{ board: string; label: string; hint: string }> = [
  { board: 'rpi5', label: 'Raspberry Pi 5', hint: 'microSD card' },
  { board: 'visionfive2', label: 'VisionFive 2', hint: 'microSD card, RISC-V' },
  { board: 'pc', label: 'PC USB stick', hint: 'any 64-bit PC that starts from USB (UEFI)' },
  { board: 'qemu-x86_64', label: 'Try in a virtual machine', hint: 'QEMU on a computer; no hardware needed' },
];

const svgUrl = (svg: string) => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;

function DeviceCard({
  board,
  label,
  hint,
  selected,
  unavailable,
  onSelect,
}: {
  board: BoardView;
  label: string;
  hint: string;
  selected: boolean;
  unavailable: string | null;
  onSelect: () => void;
}) {
  return (
    <Card variant="outlined" sx={{ borderColor: selected ? 'primary.main' : undefined, borderWidth: selected ? 2 : 1 }}>
      <CardActionArea
        onClick={onSelect}
        disabled={!!unavailable}
        aria-pressed={selected}
        sx={{ height: '100%', display: 'flex', gap: 1.5, justifyContent: 'flex-start', p: 1.5 }}
      >
        {board.illustrationSvg && (
          <Box component="img" src={svgUrl(board.illustrationSvg)} alt="" sx={{ width: 56, height: 44, objectFit: 'contain', flex: 'none' }} />
        )}
        <CardContent sx={{ p: 0, '&:last-child': { pb: 0 } }}>
          <Typography variant="subtitle1" component="h4" sx={{ fontWeight: 600, lineHeight: 1.3 }}>
            {label}
          </Typography>
          <Typography variant="body2" color="text.secondary">
            {unavailable ?? hint}
          </Typography>
        </CardContent>
      </CardActionArea>
    </Card>
  );
}

/** The first choice for someone who knows their hardware; it filters the Boxes (and a Box chosen first filters it). */
export function DevicePicker() {
  const catalog = useCatalogStore((s) => s.catalog);
  const { device, box: boxName, mode, chooseDevice } = useSelectionStore();
  const box = catalog?.boxes.find((b) => b.name === boxName);
  const shown = DEVICES.flatMap((d) => {
    const board = catalog?.boards.find((b) => b.name === d.board);
    return board ? [{ ...d, board }] : [];
  });
  return (
    <Box component="section" aria-labelledby="device-title" sx={{ mb: 3 }}>
      <Typography id="device-title" variant="h6" component="h3">
        What is it for?
      </Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        Pick your device first, or start with a Box below: each choice narrows the other.
      </Typography>
      <Box role="group" aria-labelledby="device-title" sx={{ display: 'grid', gap: 1.5, gridTemplateColumns: 'repeat(auto-fill, minmax(230px, 1fr))' }}>
        {shown.map((d) => (
          <DeviceCard
            key={d.board.name}
            board={d.board}
            label={d.label}
            hint={d.hint}
            selected={mode === 'build' && device === d.board.name}
            unavailable={box && mode === 'build' && !boxFitsBoard(box, d.board) ? `${box.name} is not available for it` : null}
            onSelect={() => chooseDevice(d.board.name)}
          />
        ))}
      </Box>
    </Box>
  );
}
