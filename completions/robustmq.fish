# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_robustmq_global_optspecs
    string join \n h/help V/version
end

function __fish_robustmq_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_robustmq_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_robustmq_using_subcommand
    set -l cmd (__fish_robustmq_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c robustmq -n "__fish_robustmq_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_needs_command" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_needs_command" -f -a "serve" -d 'Run the MQTT broker'
complete -c robustmq -n "__fish_robustmq_needs_command" -f -a "store" -d 'Inspect, check, export or compact a data directory (never while a broker uses it)'
complete -c robustmq -n "__fish_robustmq_needs_command" -f -a "pub" -d 'Publish messages to a broker (mosquitto_pub style)'
complete -c robustmq -n "__fish_robustmq_needs_command" -f -a "sub" -d 'Subscribe to topics and print the messages (mosquitto_sub style)'
complete -c robustmq -n "__fish_robustmq_needs_command" -f -a "bench" -d 'Load-test any MQTT broker: connections, publishers, subscribers, whole scenarios'
complete -c robustmq -n "__fish_robustmq_needs_command" -f -a "passwd" -d 'Manage a password file: add, delete and list users (argon2id; mosquitto_passwd files work too)'
complete -c robustmq -n "__fish_robustmq_needs_command" -f -a "certs" -d 'Make TLS certificates: a local CA, a server and a client certificate, in one step'
complete -c robustmq -n "__fish_robustmq_needs_command" -f -a "import" -d 'Turn another broker\'s configuration into robustmq.toml, listing what did not carry over'
complete -c robustmq -n "__fish_robustmq_needs_command" -f -a "top" -d 'Live terminal dashboard of a broker: robustmq in full, any other broker from its $SYS topics'
complete -c robustmq -n "__fish_robustmq_using_subcommand serve" -s c -l config -d 'TOML configuration file; flags given here override it. Without it: /etc/robustmq/robustmq.toml when that exists (ROBUSTMQ_SYSTEM_CONFIG, for packagers and tests, names another file, or none when empty), else the built-in defaults. The start-up line says which was used; `robustmq store` chooses the same way' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand serve" -s l -l listen -d 'Address for a plain MQTT listener, e.g. 0.0.0.0:1883 (repeatable; replaces the file\'s listeners)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand serve" -l data-dir -d 'Directory for the broker\'s data, created (mode 0700) when missing [default: data_dir of the configuration; with the built-in defaults, robustmq in the user\'s data directory, e.g. ~/.local/share/robustmq]' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand serve" -l log-level -d 'Log level: error, warn, info, debug or trace, or a filter such as info,robustmq=debug [default: server.log_level of the configuration, info]. Given here, it stays through SIGHUP reloads; RUST_LOG, when set, takes precedence over both' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand serve" -l check-config -d 'Check a configuration file (FILE, else the one --config chooses), and open the password, ACL, certificate and key files it names, then exit: 0 if all is valid, 2 with the first problem and its file if not' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand serve" -l allow-anonymous -d 'Let clients without a user name connect on every listener, from --listen and from the file alike (like mosquitto\'s global allow_anonymous true). Without it a listener takes the file\'s allow_anonymous, and one that sets none accepts anonymous clients only on loopback and Unix sockets'
complete -c robustmq -n "__fish_robustmq_using_subcommand serve" -l print-default-config -d 'Print a commented default configuration file and exit'
complete -c robustmq -n "__fish_robustmq_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand serve" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and not __fish_seen_subcommand_from stats verify export compact" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and not __fish_seen_subcommand_from stats verify export compact" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and not __fish_seen_subcommand_from stats verify export compact" -f -a "stats" -d 'Entries and bytes per table, file size, schema version, and counts of sessions, queued deliveries and retained messages'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and not __fish_seen_subcommand_from stats verify export compact" -f -a "verify" -d 'Check the data file for consistency: each problem found is printed, and the exit code tells a clean file from a damaged one and from one that cannot be opened at all'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and not __fish_seen_subcommand_from stats verify export compact" -f -a "export" -d 'Write sessions, deliveries, incoming QoS 2 ids and retained messages as NDJSON, one object per line with a "type" field'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and not __fish_seen_subcommand_from stats verify export compact" -f -a "compact" -d 'Give the space of deleted entries back to the file system. A file of an older schema is migrated first, as the broker would, keeping a copy of it'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from stats" -s c -l config -d 'Configuration file whose data_dir to use [default: /etc/robustmq/robustmq.toml when it exists (ROBUSTMQ_SYSTEM_CONFIG, for packagers and tests, names another file, or none when empty), else the built-in defaults], chosen as `robustmq serve` chooses it' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from stats" -l data-dir -d 'Data directory of the broker, over the configuration\'s data_dir [default: data_dir of the configuration; with the built-in defaults, robustmq in the user\'s data directory, e.g. ~/.local/share/robustmq]. It is never created' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from stats" -l json -d 'Print one JSON object instead of a table'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from stats" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from verify" -s c -l config -d 'Configuration file whose data_dir to use [default: /etc/robustmq/robustmq.toml when it exists (ROBUSTMQ_SYSTEM_CONFIG, for packagers and tests, names another file, or none when empty), else the built-in defaults], chosen as `robustmq serve` chooses it' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from verify" -l data-dir -d 'Data directory of the broker, over the configuration\'s data_dir [default: data_dir of the configuration; with the built-in defaults, robustmq in the user\'s data directory, e.g. ~/.local/share/robustmq]. It is never created' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from export" -s c -l config -d 'Configuration file whose data_dir to use [default: /etc/robustmq/robustmq.toml when it exists (ROBUSTMQ_SYSTEM_CONFIG, for packagers and tests, names another file, or none when empty), else the built-in defaults], chosen as `robustmq serve` chooses it' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from export" -l data-dir -d 'Data directory of the broker, over the configuration\'s data_dir [default: data_dir of the configuration; with the built-in defaults, robustmq in the user\'s data directory, e.g. ~/.local/share/robustmq]. It is never created' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from export" -s o -l output -d 'Write to FILE (created, or replaced once the export is complete) instead of stdout' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from export" -l salvage -d 'Export every record that can still be read from a damaged file (one that fails its integrity check, or with records that do not decode) instead of refusing it; what is lost is listed on stderr. The file is only read'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from export" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from compact" -s c -l config -d 'Configuration file whose data_dir to use [default: /etc/robustmq/robustmq.toml when it exists (ROBUSTMQ_SYSTEM_CONFIG, for packagers and tests, names another file, or none when empty), else the built-in defaults], chosen as `robustmq serve` chooses it' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from compact" -l data-dir -d 'Data directory of the broker, over the configuration\'s data_dir [default: data_dir of the configuration; with the built-in defaults, robustmq in the user\'s data directory, e.g. ~/.local/share/robustmq]. It is never created' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from compact" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand store; and __fish_seen_subcommand_from compact" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s h -l host -d 'Broker host name or address' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s p -l port -d 'Broker port [default: 1883, or 8883 with TLS]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l unix -d 'Connect through this Unix domain socket instead of TCP (in place of -h, -p and -L)' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s A -l bind-address -d 'Bind the outgoing connection to this local address (or host name)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s L -l url -d 'Broker as a URL: mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC, or mqtts:// for TLS (ws:// is not supported)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s i -l id -d 'Client identifier [default: assigned by the broker with MQTT 5, random with 3.1.1]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s I -l id-prefix -d 'Client identifier made of PREFIX and the process id, as mosquitto\'s clients make it' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s u -l username -d 'User name' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s P -l pw -d 'Password' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s k -l keepalive -d 'Keep alive interval in seconds (0 = off)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s V -l protocol-version -d 'MQTT version: 5, 311 or 31 (also mqttv5, mqttv311, mqttv31). Unlike mosquitto\'s clients, which default to 3.1.1, the default is 5' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s x -l session-expiry -d 'MQTT 5 session expiry interval in seconds; -1 or ∞ for never. Unlike mosquitto\'s clients, a session that outlives the connection (any -x above 0) needs -i: one under an id the broker made up could not be found again' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s M -l max-inflight -d 'Most QoS 1/2 messages to have unacknowledged at once [default: 100; the broker\'s receive maximum lowers it]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l connect-timeout -d 'Seconds to wait for the TCP connection and for the CONNACK' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l will-topic -d 'Topic of the will message the broker publishes if this client disappears' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l will-payload -d 'Payload of the will message' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l will-qos -d 'QoS of the will message' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s D -l property -d 'MQTT 5 property, as mosquitto: -D COMMAND NAME VALUE, or -D COMMAND user-property KEY VALUE. COMMAND is connect, will, disconnect, or publish (pub only)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l cafile -d 'PEM CA certificates to trust [default: the system\'s trusted CAs]' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l cert -d 'PEM client certificate, for brokers that ask for one' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l key -d 'PEM private key of --cert' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l capath -d 'A directory of PEM CA certificates to trust (each file that holds certificates)' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l tls-version -d 'The TLS version to speak: tlsv1.3 or tlsv1.2 (tlsv1.1 is too old to be supported) [default: either]' -r -f -a "tlsv1.3\t''
tlsv1.2\t''
tlsv1.1\t''"
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s t -l topic -d 'Topic to publish to (or give it in -L)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s m -l message -d 'Send this message' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s f -l file -d 'Send the contents of FILE as one message' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s q -l qos -d 'Quality of service: 0, 1 or 2' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l repeat -d 'Send the message N times (with -m, -f, -s or -n)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l repeat-delay -d 'Seconds to wait after each repeated message is delivered before sending the next' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s c -l no-clean -d 'Keep the session after disconnecting (no clean start); needs -i, as with mosquitto. With MQTT 5 the session never expires unless -x says otherwise'
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l nodelay -d 'Disable Nagle\'s algorithm. Accepted for mosquitto\'s scripts: robustmq always does'
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l will-retain -d 'Retain the will message'
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l insecure -d 'Do not check that the broker\'s certificate is valid for the host name (it must still be signed by a trusted CA)'
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l tls-use-os-certs -d 'Trust the system\'s CA certificates, also with --cafile or --capath (without them they are trusted anyway)'
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s d -l debug -d 'Print every packet sent and received to stderr'
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l quiet -d 'Print no runtime errors (a wrong command line is still reported); the exit code still says what happened'
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l help -d 'Print help (-h is the host, as with mosquitto\'s clients)'
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s l -l stdin-line -d 'Send each line of stdin as a message (without its line ending), as lines arrive'
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s s -l stdin-file -d 'Send all of stdin as one message'
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s n -l null-message -d 'Send an empty message'
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -s r -l retain -d 'Ask the broker to retain the message (an empty retained message clears the topic)'
complete -c robustmq -n "__fish_robustmq_using_subcommand pub" -l no-reconnect -d 'With -l: exit when the connection is lost, instead of reconnecting (after 1 s, then doubling up to 30 s between attempts) and sending the lines that follow'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s h -l host -d 'Broker host name or address' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s p -l port -d 'Broker port [default: 1883, or 8883 with TLS]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l unix -d 'Connect through this Unix domain socket instead of TCP (in place of -h, -p and -L)' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s A -l bind-address -d 'Bind the outgoing connection to this local address (or host name)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s L -l url -d 'Broker as a URL: mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC, or mqtts:// for TLS (ws:// is not supported)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s i -l id -d 'Client identifier [default: assigned by the broker with MQTT 5, random with 3.1.1]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s I -l id-prefix -d 'Client identifier made of PREFIX and the process id, as mosquitto\'s clients make it' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s u -l username -d 'User name' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s P -l pw -d 'Password' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s k -l keepalive -d 'Keep alive interval in seconds (0 = off)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s V -l protocol-version -d 'MQTT version: 5, 311 or 31 (also mqttv5, mqttv311, mqttv31). Unlike mosquitto\'s clients, which default to 3.1.1, the default is 5' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s x -l session-expiry -d 'MQTT 5 session expiry interval in seconds; -1 or ∞ for never. Unlike mosquitto\'s clients, a session that outlives the connection (any -x above 0) needs -i: one under an id the broker made up could not be found again' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s M -l max-inflight -d 'Most QoS 1/2 messages to have unacknowledged at once [default: 100; the broker\'s receive maximum lowers it]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l connect-timeout -d 'Seconds to wait for the TCP connection and for the CONNACK' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l will-topic -d 'Topic of the will message the broker publishes if this client disappears' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l will-payload -d 'Payload of the will message' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l will-qos -d 'QoS of the will message' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s D -l property -d 'MQTT 5 property, as mosquitto: -D COMMAND NAME VALUE, or -D COMMAND user-property KEY VALUE. COMMAND is connect, will, disconnect, or publish (pub only)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l cafile -d 'PEM CA certificates to trust [default: the system\'s trusted CAs]' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l cert -d 'PEM client certificate, for brokers that ask for one' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l key -d 'PEM private key of --cert' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l capath -d 'A directory of PEM CA certificates to trust (each file that holds certificates)' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l tls-version -d 'The TLS version to speak: tlsv1.3 or tlsv1.2 (tlsv1.1 is too old to be supported) [default: either]' -r -f -a "tlsv1.3\t''
tlsv1.2\t''
tlsv1.1\t''"
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s t -l topic -d 'Topic filter to subscribe to (repeatable; -L may give one more)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s U -l unsubscribe -d 'Unsubscribe from FILTER (repeatable), after subscribing to the -t filters; useful with a session kept by -c' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s T -l filter-out -d 'Do not print messages whose topic matches FILTER (repeatable)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s q -l qos -d 'Maximum QoS to receive messages with: 0, 1 or 2' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s F -l format -d 'Print each message with FORMAT: %t topic, %p payload, %q QoS, %r retain, %i or %m packet id, %l length, %x/%X hex payload, %C %D %E %F %R %P %S v5 properties, %j JSON as mosquitto_sub prints it (tst, topic, qos, retain, payloadlen, mid, properties, payload), %J the same with the payload parsed as JSON, %I ISO 8601 time, %U Unix time, %% a %, @X strftime-style time fields, \\n \\t \\\\ \\0 \\e escapes; width and precision as %-10.5t. Times are UTC (mosquitto_sub prints local time)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l random-filter -d 'Print only about PERCENT of the messages, chosen at random (0.1 to 100); those not printed still count for -C' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s C -l count -d 'Exit after printing N messages' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s W -l timeout -d 'Exit with code 27 if still running after SECS seconds (counted from the connection)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l retain-handling -d 'MQTT 5 retain handling: 0 send retained messages on subscribe, 1 only for a new subscription, 2 never' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s c -l no-clean -d 'Keep the session after disconnecting (no clean start); needs -i, as with mosquitto. With MQTT 5 the session never expires unless -x says otherwise'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l nodelay -d 'Disable Nagle\'s algorithm. Accepted for mosquitto\'s scripts: robustmq always does'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l will-retain -d 'Retain the will message'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l insecure -d 'Do not check that the broker\'s certificate is valid for the host name (it must still be signed by a trusted CA)'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l tls-use-os-certs -d 'Trust the system\'s CA certificates, also with --cafile or --capath (without them they are trusted anyway)'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s d -l debug -d 'Print every packet sent and received to stderr'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l quiet -d 'Print no runtime errors (a wrong command line is still reported); the exit code still says what happened'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l help -d 'Print help (-h is the host, as with mosquitto\'s clients)'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s v -l verbose -d 'Print the topic, a space, then the payload'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l json -d 'Print one JSON object per message in robustmq\'s own schema: topic, payload (or payload_base64 if it is not UTF-8), qos, retain (true/false) and, with MQTT 5, properties (snake_case names, user_properties as a list of key/value objects). -F %j prints mosquitto_sub\'s JSON instead'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l pretty -d 'Indent the JSON of -F %j, %J and --json (a message then spans several lines)'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s N -l no-newline -d 'Do not print a newline after each message'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s R -l no-retained -d 'Skip messages that arrive with the retain flag set (stale ones)'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l retained-only -d 'Print only retained messages, then exit at the first message that is not retained or when none has arrived for half a second'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l remove-retained -d 'Clear each retained message received (publish an empty retained message to its topic)'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -s E -l exit-after-subscribe -d 'Exit as soon as the broker has acknowledged the subscriptions (and the -U unsubscriptions)'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l no-local -d 'MQTT 5: do not receive messages this client publishes'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l retain-as-published -d 'MQTT 5: keep the retain flag as the publisher set it on forwarded messages'
complete -c robustmq -n "__fish_robustmq_using_subcommand sub" -l no-reconnect -d 'Exit when the connection is lost, instead of reconnecting (after 1 s, then doubling up to 30 s between attempts), subscribing again and going on'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and not __fish_seen_subcommand_from conn pub sub pubsub" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and not __fish_seen_subcommand_from conn pub sub pubsub" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and not __fish_seen_subcommand_from conn pub sub pubsub" -f -a "conn" -d 'Open -c connections at --rate per second, report how many connected and how fast, then hold them idle for -d (to read the broker\'s memory per connection)'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and not __fish_seen_subcommand_from conn pub sub pubsub" -f -a "pub" -d 'Publishers only (-c of them, publisher i on -t with %i replaced by i), for a broker that `bench sub` (or anything else) listens to. Send times are wall-clock nanoseconds'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and not __fish_seen_subcommand_from conn pub sub pubsub" -f -a "sub" -d 'Subscribers only (-c of them on -t): counts, checks and times what `bench pub` sends, until -d passes, each has -n messages, or Ctrl-C. Start it before `bench pub`'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and not __fish_seen_subcommand_from conn pub sub pubsub" -f -a "pubsub" -d 'Publishers and subscribers in one run: fanin (N publishers → 1 subscriber), fanout (1 → N), p2p (N pairs), sharedsub (1 → a shared group of N)'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -s h -l host -d 'Broker host name or address' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -s p -l port -d 'Broker port [default: 1883, or 8883 with TLS]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -s V -l protocol-version -d 'MQTT version: 5, 311 or 31 (also mqttv5, mqttv311, mqttv31)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -s u -l username -d 'User name' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -s P -l pw -d 'Password' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -s k -l keepalive -d 'Keep alive interval in seconds (0 = off)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -s i -l id-prefix -d 'Client identifiers are PREFIX-p0, PREFIX-s0, PREFIX-c0, ... [default: rmqb-PID]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -s x -l session-expiry -d 'Persistent sessions: connect with clean session/start off and this session expiry (seconds; v5), so the broker keeps (and, if durable, stores) what is queued for them' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l connect-concurrency -d 'Connection attempts in progress at once' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l connect-timeout -d 'Time allowed for the TCP connection and for the CONNACK, each' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l cafile -d 'PEM CA certificates to trust [default: the system\'s trusted CAs]' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l cert -d 'PEM client certificate, for brokers that ask for one' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l key -d 'PEM private key of --cert' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -s c -l clients -d 'Connections to open' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l rate -d 'New connections per second; 0 = as fast as --connect-concurrency allows' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -s d -l duration -d 'How long to hold the connections once every attempt has finished' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l bystander-rate -d 'Before connecting, start a publisher/subscriber pair exchanging MSGS QoS 1 messages of 64 bytes per second until every attempt has finished, and report its latency: how the broker serves established clients during a connection storm. 0 = no bystander' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l compare -d 'Compare the results with an earlier --json output and print each figure\'s change; exit 7 if a throughput or latency figure (up to p99) is worse beyond --threshold' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l threshold -d 'With --compare: changes within this many percent of the baseline are the same (noise), neither better nor worse' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l interval -d 'Time between progress lines when the output is not a terminal' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l threads -d 'Worker threads of the bench [default: one per CPU it may run on]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l broker-pid -d 'Process id of the broker, when it runs on this machine (Linux): report its CPU use while publishing and its memory (VmRSS) before and during the run (`conn`: per connection)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l insecure -d 'Do not check that the broker\'s certificate is valid for the host name (it must still be signed by a trusted CA)'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l help -d 'Print help (-h is the host, as with mosquitto\'s clients)'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l json -d 'Print the results as one JSON object (stable keys) instead of a table; progress goes to stderr'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from conn" -l quiet -d 'No progress output'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s h -l host -d 'Broker host name or address' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s p -l port -d 'Broker port [default: 1883, or 8883 with TLS]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s V -l protocol-version -d 'MQTT version: 5, 311 or 31 (also mqttv5, mqttv311, mqttv31)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s u -l username -d 'User name' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s P -l pw -d 'Password' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s k -l keepalive -d 'Keep alive interval in seconds (0 = off)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s i -l id-prefix -d 'Client identifiers are PREFIX-p0, PREFIX-s0, PREFIX-c0, ... [default: rmqb-PID]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s x -l session-expiry -d 'Persistent sessions: connect with clean session/start off and this session expiry (seconds; v5), so the broker keeps (and, if durable, stores) what is queued for them' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l connect-concurrency -d 'Connection attempts in progress at once' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l connect-timeout -d 'Time allowed for the TCP connection and for the CONNACK, each' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l cafile -d 'PEM CA certificates to trust [default: the system\'s trusted CAs]' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l cert -d 'PEM client certificate, for brokers that ask for one' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l key -d 'PEM private key of --cert' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s c -l clients -d 'Publishers' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s t -l topic -d 'Topic of publisher i, with %i replaced by i' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s q -l qos -d 'QoS of publishes and subscriptions: 0, 1 or 2' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s s -l size -d 'Payload size in bytes (at least 28: the header with publisher, sequence number and send time)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l rate -d 'Messages per second per publisher; 0 = as fast as flow control allows' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l inflight -d 'QoS 1/2 publishes a publisher may have unacknowledged (the broker\'s receive maximum lowers it)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s d -l duration -d 'Publish for this long [default: 10s unless -n is given]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -s n -l count -d 'Messages per publisher (with -d: whichever comes first)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l drain -d 'After publishing, how long to wait at most for acknowledgements and deliveries' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l connect-rate -d 'New connections per second while connecting; 0 = no limit' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l compare -d 'Compare the results with an earlier --json output and print each figure\'s change; exit 7 if a throughput or latency figure (up to p99) is worse beyond --threshold' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l threshold -d 'With --compare: changes within this many percent of the baseline are the same (noise), neither better nor worse' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l interval -d 'Time between progress lines when the output is not a terminal' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l threads -d 'Worker threads of the bench [default: one per CPU it may run on]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l broker-pid -d 'Process id of the broker, when it runs on this machine (Linux): report its CPU use while publishing and its memory (VmRSS) before and during the run (`conn`: per connection)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l insecure -d 'Do not check that the broker\'s certificate is valid for the host name (it must still be signed by a trusted CA)'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l help -d 'Print help (-h is the host, as with mosquitto\'s clients)'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l json -d 'Print the results as one JSON object (stable keys) instead of a table; progress goes to stderr'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pub" -l quiet -d 'No progress output'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -s h -l host -d 'Broker host name or address' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -s p -l port -d 'Broker port [default: 1883, or 8883 with TLS]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -s V -l protocol-version -d 'MQTT version: 5, 311 or 31 (also mqttv5, mqttv311, mqttv31)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -s u -l username -d 'User name' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -s P -l pw -d 'Password' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -s k -l keepalive -d 'Keep alive interval in seconds (0 = off)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -s i -l id-prefix -d 'Client identifiers are PREFIX-p0, PREFIX-s0, PREFIX-c0, ... [default: rmqb-PID]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -s x -l session-expiry -d 'Persistent sessions: connect with clean session/start off and this session expiry (seconds; v5), so the broker keeps (and, if durable, stores) what is queued for them' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l connect-concurrency -d 'Connection attempts in progress at once' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l connect-timeout -d 'Time allowed for the TCP connection and for the CONNACK, each' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l cafile -d 'PEM CA certificates to trust [default: the system\'s trusted CAs]' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l cert -d 'PEM client certificate, for brokers that ask for one' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l key -d 'PEM private key of --cert' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -s c -l clients -d 'Subscribers' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -s t -l topic -d 'Filter of subscriber i, with %i replaced by i (`$share/GROUP/...` for a shared group)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -s q -l qos -d 'Subscription QoS: 0, 1 or 2' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -s d -l duration -d 'Stop after this long [default: run until -n or Ctrl-C]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -s n -l count -d 'Stop once each subscriber has received N messages' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l connect-rate -d 'New connections per second while connecting; 0 = no limit' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l compare -d 'Compare the results with an earlier --json output and print each figure\'s change; exit 7 if a throughput or latency figure (up to p99) is worse beyond --threshold' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l threshold -d 'With --compare: changes within this many percent of the baseline are the same (noise), neither better nor worse' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l interval -d 'Time between progress lines when the output is not a terminal' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l threads -d 'Worker threads of the bench [default: one per CPU it may run on]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l broker-pid -d 'Process id of the broker, when it runs on this machine (Linux): report its CPU use while publishing and its memory (VmRSS) before and during the run (`conn`: per connection)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l insecure -d 'Do not check that the broker\'s certificate is valid for the host name (it must still be signed by a trusted CA)'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l help -d 'Print help (-h is the host, as with mosquitto\'s clients)'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l json -d 'Print the results as one JSON object (stable keys) instead of a table; progress goes to stderr'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from sub" -l quiet -d 'No progress output'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s h -l host -d 'Broker host name or address' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s p -l port -d 'Broker port [default: 1883, or 8883 with TLS]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s V -l protocol-version -d 'MQTT version: 5, 311 or 31 (also mqttv5, mqttv311, mqttv31)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s u -l username -d 'User name' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s P -l pw -d 'Password' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s k -l keepalive -d 'Keep alive interval in seconds (0 = off)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s i -l id-prefix -d 'Client identifiers are PREFIX-p0, PREFIX-s0, PREFIX-c0, ... [default: rmqb-PID]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s x -l session-expiry -d 'Persistent sessions: connect with clean session/start off and this session expiry (seconds; v5), so the broker keeps (and, if durable, stores) what is queued for them' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l connect-concurrency -d 'Connection attempts in progress at once' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l connect-timeout -d 'Time allowed for the TCP connection and for the CONNACK, each' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l cafile -d 'PEM CA certificates to trust [default: the system\'s trusted CAs]' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l cert -d 'PEM client certificate, for brokers that ask for one' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l key -d 'PEM private key of --cert' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l scenario -d 'fanin, fanout, p2p or sharedsub' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s c -l clients -d 'Clients: fanin N publishers → 1 subscriber, fanout 1 → N, p2p N pairs, sharedsub 1 → N' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l publishers -d 'Publishers (instead of what -c gives)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l subscribers -d 'Subscribers (instead of what -c gives)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l stalled-subscribers -d 'Also N subscribers that subscribe to the publishers\' topics (in turn) and then never read: what the broker queues for them shows in its memory, and should stay bounded without slowing the others. Nothing is expected of them' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s t -l topic -d 'Topic prefix: topics are PREFIX/SCENARIO/i' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s q -l qos -d 'QoS of publishes and subscriptions: 0, 1 or 2' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s s -l size -d 'Payload size in bytes (at least 28: the header with publisher, sequence number and send time)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l rate -d 'Messages per second per publisher; 0 = as fast as flow control allows' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l inflight -d 'QoS 1/2 publishes a publisher may have unacknowledged (the broker\'s receive maximum lowers it)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s d -l duration -d 'Publish for this long [default: 10s unless -n is given]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -s n -l count -d 'Messages per publisher (with -d: whichever comes first)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l drain -d 'After publishing, how long to wait at most for acknowledgements and deliveries' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l connect-rate -d 'New connections per second while connecting; 0 = no limit' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l compare -d 'Compare the results with an earlier --json output and print each figure\'s change; exit 7 if a throughput or latency figure (up to p99) is worse beyond --threshold' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l threshold -d 'With --compare: changes within this many percent of the baseline are the same (noise), neither better nor worse' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l interval -d 'Time between progress lines when the output is not a terminal' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l threads -d 'Worker threads of the bench [default: one per CPU it may run on]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l broker-pid -d 'Process id of the broker, when it runs on this machine (Linux): report its CPU use while publishing and its memory (VmRSS) before and during the run (`conn`: per connection)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l insecure -d 'Do not check that the broker\'s certificate is valid for the host name (it must still be signed by a trusted CA)'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l help -d 'Print help (-h is the host, as with mosquitto\'s clients)'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l json -d 'Print the results as one JSON object (stable keys) instead of a table; progress goes to stderr'
complete -c robustmq -n "__fish_robustmq_using_subcommand bench; and __fish_seen_subcommand_from pubsub" -l quiet -d 'No progress output'
complete -c robustmq -n "__fish_robustmq_using_subcommand passwd; and not __fish_seen_subcommand_from add delete list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand passwd; and not __fish_seen_subcommand_from add delete list" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand passwd; and not __fish_seen_subcommand_from add delete list" -a "add" -d 'Add a user, or set a new password for an existing one (asked twice, not echoed)'
complete -c robustmq -n "__fish_robustmq_using_subcommand passwd; and not __fish_seen_subcommand_from add delete list" -a "delete" -d 'Remove a user (an error if there is no such user)'
complete -c robustmq -n "__fish_robustmq_using_subcommand passwd; and not __fish_seen_subcommand_from add delete list" -a "list" -d 'Print the user names, one per line'
complete -c robustmq -n "__fish_robustmq_using_subcommand passwd; and __fish_seen_subcommand_from add" -l stdin -d 'Read the password from one line of standard input instead of asking for it'
complete -c robustmq -n "__fish_robustmq_using_subcommand passwd; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand passwd; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand passwd; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand passwd; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand passwd; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand passwd; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand certs; and not __fish_seen_subcommand_from init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand certs; and not __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand certs; and not __fish_seen_subcommand_from init" -f -a "init" -d 'Write DIR/ca.crt, ca.key, server.crt, server.key, client.crt and client.key (keys mode 0600), signed by the new CA, and print a listener configuration that uses them'
complete -c robustmq -n "__fish_robustmq_using_subcommand certs; and __fish_seen_subcommand_from init" -l host -d 'DNS name the server certificate is valid for; repeatable [default: localhost and this machine\'s host name]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand certs; and __fish_seen_subcommand_from init" -l ip -d 'IP address the server certificate is valid for; repeatable [default: 127.0.0.1 and ::1]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand certs; and __fish_seen_subcommand_from init" -l client-name -d 'Common Name of the client certificate (its user name with use_identity_as_username)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand certs; and __fish_seen_subcommand_from init" -l days -d 'Days the certificates are valid' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand certs; and __fish_seen_subcommand_from init" -l force -d 'Replace existing files'
complete -c robustmq -n "__fish_robustmq_using_subcommand certs; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand certs; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand import; and not __fish_seen_subcommand_from mosquitto" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand import; and not __fish_seen_subcommand_from mosquitto" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand import; and not __fish_seen_subcommand_from mosquitto" -f -a "mosquitto" -d 'Translate a mosquitto.conf (and the files its include_dir names) into robustmq.toml'
complete -c robustmq -n "__fish_robustmq_using_subcommand import; and __fish_seen_subcommand_from mosquitto" -s o -l output -d 'Write the robustmq configuration here instead of to standard output' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand import; and __fish_seen_subcommand_from mosquitto" -l force -d 'Replace OUT if it exists'
complete -c robustmq -n "__fish_robustmq_using_subcommand import; and __fish_seen_subcommand_from mosquitto" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c robustmq -n "__fish_robustmq_using_subcommand import; and __fish_seen_subcommand_from mosquitto" -s V -l version -d 'Print version'
complete -c robustmq -n "__fish_robustmq_using_subcommand top" -s h -l host -d 'Broker host name or address' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand top" -s p -l port -d 'Broker port [default: 1883, or 8883 with TLS]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand top" -s i -l id -d 'Client identifier [default: robustmq- and a random suffix]' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand top" -s u -l username -d 'User name' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand top" -s P -l pw -d 'Password' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand top" -s k -l keepalive -d 'Keep alive interval in seconds (0 = off)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand top" -s V -l protocol-version -d 'MQTT version: 5, 311 or 31 (also mqttv5, mqttv311, mqttv31)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand top" -l interval -d 'Seconds between requests for details (robustmq only; $SYS figures come as the broker publishes them)' -r
complete -c robustmq -n "__fish_robustmq_using_subcommand top" -l cafile -d 'PEM CA certificates to trust [default: the system\'s trusted CAs]' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand top" -l cert -d 'PEM client certificate, for brokers that ask for one' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand top" -l key -d 'PEM private key of --cert' -r -F
complete -c robustmq -n "__fish_robustmq_using_subcommand top" -l insecure -d 'Do not check that the broker\'s certificate is valid for the host name (it must still be signed by a trusted CA)'
complete -c robustmq -n "__fish_robustmq_using_subcommand top" -l help -d 'Print help (-h is the host, as with mosquitto\'s clients)'
