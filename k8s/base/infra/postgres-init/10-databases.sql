-- One database per service; runs once, on an empty data directory (the image's /docker-entrypoint-initdb.d).
-- Used by the cluster (configMapGenerator postgres-init in k8s/base) and by tye.yaml.
CREATE DATABASE directory OWNER courtyard;
CREATE DATABASE councils OWNER courtyard;
CREATE DATABASE rules OWNER courtyard;
CREATE DATABASE volunteers OWNER courtyard;
CREATE DATABASE projects OWNER courtyard;
