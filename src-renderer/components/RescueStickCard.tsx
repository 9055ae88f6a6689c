import { Button, Card, CardActions, CardContent, Typography } from '@mui/material';
import { chooseRescueStick } from '../stores/kit-store';
import { useWizardStore } from '../stores/wizard-store';

/**
 * The ready choice "Rescue stick for a PC": tinybox with the rescue tools for a PC, running from RAM. With Alpine's
 * real packages the image is the PC board's 128 MiB boot partition plus tables (130 MiB): it fits every stick of
 * 256 MB or more, the smallest still sold.
 */
export function RescueStickCard() {
  const goTo = useWizardStore((s) => s.goTo);
  return (
    <Card variant="outlined" component="section" aria-labelledby="rescue-title">
      <CardContent>
        <Typography variant="h6" component="h3" id="rescue-title">
          Rescue stick for a PC
        </Typography>
        <Typography variant="body2" color="text.secondary">
          tinybox with the rescue tools: repair file systems (ext4, FAT, exFAT, NTFS, Btrfs, XFS), open LUKS, LVM and RAID disks, recover partitions and files
          (TestDisk), copy failing disks (ddrescue), check disk health. Runs from RAM on any UEFI PC; needs a USB stick of 256 MB or more.
        </Typography>
      </CardContent>
      <CardActions>
        <Button
          variant="outlined"
          onClick={() => {
            chooseRescueStick();
            goTo('customize');
          }}
        >
          Make a rescue stick
        </Button>
      </CardActions>
    </Card>
  );
}
