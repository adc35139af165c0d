#!/usr/bin/env bash
# First start of the compose PostgreSQL: one database and one login each for the warehouse, Airflow's
# metadata and Metabase's own, plus the read-only bi_reader login that Metabase uses on the marts, and
# the loader and transformer roles the pipeline runs its loads and dbt as.
# Passwords come from the environment (.env), never from this file.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
create role warehouse login createdb password '${WAREHOUSE_DB_PASSWORD}';  -- createdb: the demo's simulator
create database warehouse owner warehouse;
create role airflow login password '${AIRFLOW_DB_PASSWORD}';
create database airflow owner airflow;
create role metabase login password '${METABASE_DB_PASSWORD}';
create database metabase owner metabase;
create role bi_reader login password '${BI_READER_PASSWORD}';
grant connect on database warehouse to bi_reader;
-- The pipeline's least-privilege roles (complaints_warehouse/roles.py): the warehouse login switches to
-- them, so it must be a member; it cannot create roles itself (no CREATEROLE).
create role loader nologin;
create role transformer nologin;
grant loader, transformer to warehouse;
SQL
