# robustmq %post: let systemd see the unit; on first install apply the distribution's
# preset (Fedora and RHEL leave new services disabled: systemctl enable --now robustmq).
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -eq 1 ]; then
    systemctl --no-reload preset robustmq.service >/dev/null 2>&1 || :
fi
exit 0
