#!/bin/sh
# Installs the polkit policy that lets pkexec start the flash helper (and nothing else) after asking for a password.
set -e
install -D -m 0644 "/opt/Nexus Imager/resources/polkit/io.nexus_imager.flash.policy" /usr/share/polkit-1/actions/io.nexus_imager.flash.policy
chmod 0755 "/opt/Nexus Imager/resources/polkit/nexus-flash-helper"
