# robustmq %pre: create the robustmq system user before the files it owns are installed,
# from the same sysusers.d line the package installs (packaging/robustmq.sysusers).
if command -v systemd-sysusers >/dev/null 2>&1; then
    echo 'u robustmq - "robustmq MQTT broker" /var/lib/robustmq /usr/sbin/nologin' |
        systemd-sysusers --replace=/usr/lib/sysusers.d/robustmq.conf -
else
    getent group robustmq >/dev/null || groupadd -r robustmq
    getent passwd robustmq >/dev/null ||
        useradd -r -g robustmq -d /var/lib/robustmq -s /usr/sbin/nologin \
            -c "robustmq MQTT broker" robustmq
fi
exit 0
