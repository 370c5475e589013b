#!/bin/sh
# Two Alertmanagers as one cluster (gossip), one per host, both with the same config file
# (alertmanager.example.yml): Prometheus servers and netmon replicas send every alert to both,
# and the cluster's shared notification log makes one page of it. docs/ha.md, "What runs where".
# tests/test_replicas_lab.py runs exactly this shape on loopback (two instances, one host).
#
# Port 9093: the API (Prometheus' alerting targets, `netmon run --alertmanager URL`).
# Port 9094: gossip between the two (TCP and UDP). Open it between the hosts only.
# --cluster.peer-timeout (default 15s): how long the second waits for the first's notification
# before it sends itself; a page reaches you even when one Alertmanager is dead.

# On host-a:
prometheus-alertmanager \
  --config.file=/etc/prometheus/alertmanager.yml \
  --storage.path=/var/lib/prometheus/alertmanager \
  --web.listen-address=host-a:9093 \
  --cluster.listen-address=host-a:9094 \
  --cluster.advertise-address=host-a:9094 \
  --cluster.peer=host-b:9094

# On host-b: the same, with the names swapped.
# prometheus-alertmanager ... --web.listen-address=host-b:9093 \
#   --cluster.listen-address=host-b:9094 --cluster.advertise-address=host-b:9094 \
#   --cluster.peer=host-a:9094
