-- Audit tables and helper functions. Idempotent: run by every command before it touches the warehouse.

create table if not exists audit.load_batches (
    batch_id          bigserial primary key,
    source            text not null,
    table_name        text not null,
    source_file       text,
    file_checksum     text,
    status            text not null default 'running'
                      check (status in ('running', 'loaded', 'refused', 'failed', 'skipped')),
    rows_in           bigint,
    rows_loaded       bigint,
    rows_quarantined  bigint,
    extra_columns     text[] not null default '{}',
    message           text,
    started_at        timestamptz not null default clock_timestamp(),
    finished_at       timestamptz,
    constraint load_batches_reconcile check (
        status <> 'loaded' or rows_in = rows_loaded + rows_quarantined
    )
);
comment on table audit.load_batches is
    'The batch ledger: one row per attempt to load one file or table. A loaded batch reconciles rows_in = rows_loaded + rows_quarantined.';
create index if not exists load_batches_source_idx on audit.load_batches (source, table_name, file_checksum);

create table if not exists audit.quarantine (
    quarantine_id   bigserial primary key,
    batch_id        bigint not null references audit.load_batches (batch_id),
    source          text not null,
    table_name      text not null,
    file_row_number bigint,
    reasons         text[] not null,
    raw_row         jsonb not null,
    quarantined_at  timestamptz not null default clock_timestamp()
);
comment on table audit.quarantine is
    'Rows that broke the source contract, kept whole (raw_row) with every reason they were refused. file_row_number counts data rows from 1, after the header.';
create index if not exists quarantine_batch_idx on audit.quarantine (batch_id);

create table if not exists audit.pipeline_runs (
    run_id       text primary key,
    driver       text not null,
    status       text not null check (status in ('running', 'succeeded', 'failed')),
    started_at   timestamptz not null default clock_timestamp(),
    finished_at  timestamptz,
    summary      jsonb not null default '{}'::jsonb
);
comment on table audit.pipeline_runs is 'One row per run of the pipeline, from the CLI or from Airflow.';

create table if not exists audit.validation_results (
    validation_id      bigserial primary key,
    run_id             text not null,
    checkpoint         text not null,
    suite              text not null,
    expectation        text not null,
    success            boolean not null,
    observed_value     jsonb,
    unexpected_sample  jsonb,
    validated_at       timestamptz not null default clock_timestamp()
);
comment on table audit.validation_results is
    'Every expectation evaluated by a Great Expectations checkpoint, with its observed value.';
create index if not exists validation_results_run_idx on audit.validation_results (run_id);

-- True when value casts to the named type. PostgreSQL 16+ has pg_input_is_valid; older servers
-- (the project supports 14+) get the same answer from a cast inside an exception block.
do $$
begin
    if current_setting('server_version_num')::int >= 160000 then
        execute $f$
            create or replace function audit.is_valid_as(value text, type_name text)
            returns boolean language sql immutable parallel safe
            as 'select value is null or pg_input_is_valid(value, type_name)'
        $f$;
    else
        execute $f$
            create or replace function audit.is_valid_as(value text, type_name text)
            returns boolean language plpgsql immutable parallel safe
            as $body$
            begin
                if value is null then return true; end if;
                execute format('select %L::%s', value, type_name);
                return true;
            exception when others then
                return false;
            end
            $body$
        $f$;
    end if;
end
$$;

-- BI logins read the marts and nothing else. The bi_reader role is made by whoever runs the server
-- (docker/postgres-init does it for the compose stack); when it exists, it gets read access to marts,
-- now and for every table dbt creates there later.
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'bi_reader') then
        grant usage on schema marts to bi_reader;
        grant select on all tables in schema marts to bi_reader;
        alter default privileges in schema marts grant select on tables to bi_reader;
    end if;
end
$$;
