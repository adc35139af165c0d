#!/usr/bin/env bash
# First start of the compose PostgreSQL: one database and one login each for the warehouse, Airflow's
# metadata and Metabase's own, plus the read-only bi_reader login that Metabase uses on the marts, and
# the loader and transformer roles the pipeline runs its loads and dbt as.
# Passwords come from the environment (.env), never from this file; psql quotes them (:'name'), so a
# password holding a quote or a backslash is stored as it is.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v warehouse_pw="$WAREHOUSE_DB_PASSWORD" -v airflow_pw="$AIRFLOW_DB_PASSWORD" \
  -v metabase_pw="$METABASE_DB_PASSWORD" -v bi_reader_pw="$BI_READER_PASSWORD" <<'SQL'
create role warehouse login createdb password :'warehouse_pw';  -- createdb: the demo's simulator
create database warehouse owner warehouse;
create role airflow login password :'airflow_pw';
create database airflow owner airflow;
create role metabase login password :'metabase_pw';
create database metabase owner metabase;
create role bi_reader login password :'bi_reader_pw';
grant connect on database warehouse to bi_reader;
-- The pipeline's least-privilege roles (complaints_warehouse/warehouse/roles.py): the warehouse login switches to
-- them, so it must be a member; it cannot create roles itself (no CREATEROLE).
create role loader nologin;
create role transformer nologin;
grant loader, transformer to warehouse;
SQL
