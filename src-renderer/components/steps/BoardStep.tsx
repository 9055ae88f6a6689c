import { Alert, Box, Card, CardActionArea, CardContent, Chip, ToggleButton, ToggleButtonGroup, Typography } from '@mui/material';
import { ARCHES, type Arch } from '../../../src-shared/arch';
import type { BoardView } from '../../../src-shared/contract';
import { boardGuide, selectBox, useCatalogStore } from '../../stores/catalog-store';
import { boardsForBox, useSelectionStore } from '../../stores/selection-store';
import { useWizardStore } from '../../stores/wizard-store';
import { StepHeading } from '../StepHeading';
import { StepNav } from '../StepNav';

const svgUrl = (svg: string) => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;

function BoardCard({ board, selected, onSelect }: { board: BoardView; selected: boolean; onSelect: () => void }) {
  return (
    <Card variant="outlined" sx={{ borderColor: selected ? 'primary.main' : undefined, borderWidth: selected ? 2 : 1 }}>
      <CardActionArea
        onClick={onSelect}
        aria-pressed={selected}
        sx={{ height: '100%', display: 'flex', flexDirection: 'column', alignItems: 'stretch', justifyContent: 'flex-start' }}
      >
        {board.illustrationSvg && (
          <Box component="img" src={svgUrl(board.illustrationSvg)} alt="" sx={{ width: '100%', height: 120, objectFit: 'contain', p: 1 }} />
        )}
        <CardContent>
          <Typography variant="subtitle1" component="h3">
            {board.title}
          </Typography>
          <Chip size="small" label={board.kind === 'vm' ? `virtual machine · ${board.arch}` : board.arch} />
        </CardContent>
      </CardActionArea>
    </Card>
  );
}

export function BoardStep() {
  const { box: boxName, arch, board, chooseArch, chooseBoard } = useSelectionStore();
  const box = useCatalogStore(selectBox(boxName));
  useCatalogStore((s) => s.catalog);
  const { next, back } = useWizardStore();
  // Every board the Box offers, on any architecture: picking one sets the architecture; picking an architecture
  // moves to that architecture's board of the same kind.
  const boards = boardsForBox(boxName);
  const chosen = boards.find((b) => b.name === board);
  const groups = [
    { kind: 'hardware', title: 'Devices' },
    { kind: 'vm', title: 'Virtual machines' },
  ] as const;
  return (
    <section>
      <StepHeading>Architecture and board</StepHeading>
      <Typography id="arch-label" sx={{ mb: 1 }}>
        Architecture for {box?.name ?? 'the Box'} (follows from the board)
      </Typography>
      <ToggleButtonGroup exclusive value={arch} onChange={(_, v: Arch | null) => v && chooseArch(v)} aria-labelledby="arch-label">
        {ARCHES.map((a) => (
          <ToggleButton key={a} value={a} disabled={!box?.architectures.includes(a)} aria-label={a}>
            {a}
          </ToggleButton>
        ))}
      </ToggleButtonGroup>
      {groups.map((g) => (
        <Box key={g.kind}>
          <Typography sx={{ mt: 3, mb: 1 }} id={`board-label-${g.kind}`}>
            {g.title}
          </Typography>
          <Box
            role="group"
            aria-labelledby={`board-label-${g.kind}`}
            sx={{ display: 'grid', gap: 2, gridTemplateColumns: 'repeat(auto-fill, minmax(220px, 1fr))' }}
          >
            {boards
              .filter((b) => b.kind === g.kind)
              .map((b) => (
                <BoardCard key={b.name} board={b} selected={b.name === board} onSelect={() => chooseBoard(b.name)} />
              ))}
          </Box>
        </Box>
      ))}
      {boardGuide(chosen, box).notes.map((n) => (
        <Alert key={n} severity="info" sx={{ mt: 2 }}>
          {n}
        </Alert>
      ))}
      <StepNav onBack={() => back('build')} onNext={() => next('build')} nextDisabled={!chosen} nextLabel="Next: customize" />
    </section>
  );
}
