# robustmq %postun: forget the removed unit; after an upgrade, restart a running broker
# so that it runs the new binary.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -ge 1 ]; then
    systemctl try-restart robustmq.service >/dev/null 2>&1 || :
fi
exit 0
