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
alter table audit.load_batches add column if not exists source_system text not null default 'file';
alter table audit.load_batches add column if not exists window_start timestamptz;
alter table audit.load_batches add column if not exists window_end timestamptz;
alter table audit.load_batches add column if not exists rows_unchanged bigint;
alter table audit.load_batches add column if not exists rows_deleted bigint;
alter table audit.load_batches add column if not exists content_checksum text;
comment on column audit.load_batches.content_checksum is
    'Order-independent checksum of the rows the batch accepted (file_checksum is the delivered file''s).';
comment on column audit.load_batches.rows_loaded is
    'Rows accepted: appended to the raw table, or already there unchanged (rows_unchanged, re-read by an overlap window).';
comment on column audit.load_batches.rows_deleted is
    'Keys the source no longer holds, recorded as tombstone rows (_is_deleted) in the raw table.';
alter table audit.load_batches add column if not exists rows_purged bigint not null default 0;
alter table audit.load_batches add column if not exists quarantined_purged bigint not null default 0;
comment on column audit.load_batches.rows_purged is
    'Rows of the batch since deleted from its raw table by retention purges (audit.retention_purges): raw rows = rows_loaded - rows_unchanged + rows_deleted - rows_purged.';
comment on column audit.load_batches.quarantined_purged is
    'Quarantined rows of the batch since deleted by retention purges: rows kept in quarantine = rows_quarantined - quarantined_purged.';

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

-- Refused rows of personal tables hold personal data: they are kept in the restricted schema.
create table if not exists restricted.quarantine (like audit.quarantine including all);
comment on table restricted.quarantine is 'Rows of personal-data tables that broke the source contract.';

-- How far each source table has been extracted: the next night starts from here, less an overlap.
-- Columns a source delivered that its contract does not know, from a source whose contract holds personal
-- data and whose configuration says unknown_columns: restricted (the default drops them). Nobody can tell
-- what such a column holds, so it is kept here, never in the raw tables' _extra or audit.quarantine, with
-- the row's case and complainant pseudonym so that retention purges it with the person.
create table if not exists restricted.unknown_columns (
    batch_id               bigint not null references audit.load_batches (batch_id),
    source_system          text not null,
    table_name             text not null,
    file_row_number        bigint not null,
    representation_id      text,
    complainant_pseudonym  text,
    columns                jsonb not null,
    kept_at                timestamptz not null default clock_timestamp(),
    primary key (batch_id, file_row_number)
);
comment on table restricted.unknown_columns is
    'Values of columns a personal-data source delivered that its contract does not know (unknown_columns: restricted), per delivered row; purged by retention with the complainant.';

create table if not exists audit.source_watermarks (
    source_system   text not null,
    table_name      text not null,
    high_water_mark timestamptz not null,
    batch_id        bigint references audit.load_batches (batch_id),
    updated_at      timestamptz not null default clock_timestamp(),
    primary key (source_system, table_name)
);
comment on table audit.source_watermarks is
    'The latest updated_at loaded per source system and table; incremental extracts start there minus an overlap.';

-- The configured source systems, as last loaded: which system replaced which (a migration).
create table if not exists audit.source_systems (
    source_system  text primary key,
    contract       text not null,
    adapter        text not null,
    replaces       text,
    config_path    text not null,
    registered_at  timestamptz not null default clock_timestamp()
);
comment on table audit.source_systems is
    'Source systems seen by the loader; replaces names the system a newer one took over from, so dbt counts migrated cases once.';

-- How far each incremental fact has been built: the next night's build takes the keys of the batches
-- loaded since (dbt_project/macros/incremental_changes.sql). A row is written when the build starts
-- ('building') and marked 'built' in the same transaction that writes the fact, so a failed build
-- leaves the previous watermark in force.
create table if not exists audit.incremental_watermarks (
    model              text not null,
    invocation_id      text not null,
    through_batch_id   bigint not null,
    after_batch_id     bigint,
    dependencies_md5   text not null,
    rebuilt_all        boolean not null,
    changed_cases      integer not null,
    changed_keys       integer not null,
    rows_deleted       integer not null,
    status             text not null check (status in ('building', 'built')),
    started_at         timestamptz not null default clock_timestamp(),
    finished_at        timestamptz,
    primary key (model, invocation_id)
);
-- The service area versions the fact was built against (an md5 of dim_service_area's keys): while they
-- stay the same, no row of the fact can name a version that has gone, and the night need not look.
alter table audit.incremental_watermarks add column if not exists service_areas_md5 text;
comment on table audit.incremental_watermarks is
    'One row per build of an incremental fact: the batches it took in (after_batch_id, through_batch_id], how many cases and keys it recomputed, and whether it rebuilt every row.';

-- The rows a night's incremental facts took out (the changed cases' previous rows), kept for the length
-- of the dbt run that took them out: the aggregates kept up to date from the facts (the BMMR's monthly
-- counts, the annual report's cells) subtract them and add the rows the night wrote, instead of adding up
-- ten years of facts again (dbt_project/macros/fact_changes.sql). Facts hold pseudonyms only; dbt empties
-- the table at the start and end of every run.
create table if not exists audit.fact_removed_rows (
    model          text not null,
    invocation_id  text not null,
    removed        jsonb not null
);
create index if not exists fact_removed_rows_model_idx on audit.fact_removed_rows (model, invocation_id);
comment on table audit.fact_removed_rows is
    'The previous rows of the cases an incremental fact recomputed in a dbt run, while that run lasts: the aggregates kept up to date from the facts subtract them.';

-- A nightly dbt run's test scope (the cases loaded since the facts' last build, and the keys of the
-- per-row views that name them), worked out once by the run's on-run-start and read by each test of the
-- staging views (dbt_project/macros/nightly_test_scope.sql); kept while the run lasts.
create table if not exists audit.nightly_test_scope (
    invocation_id  text primary key,
    scope          jsonb not null,
    worked_out_at  timestamptz not null default clock_timestamp()
);
comment on table audit.nightly_test_scope is
    'The cases (and per-row keys) a nightly dbt run tests the staging views on, worked out once per run.';

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

-- Personal data: every retention purge and every subject-access export, recorded (never the person's
-- identity here: a subject is named by pseudonym).
create table if not exists audit.retention_purges (
    purge_id         bigserial primary key,
    purged_at        timestamptz not null default clock_timestamp(),
    purged_by        text not null,
    retention_years  int not null,
    cutoff           date not null,
    dry_run          boolean not null,
    complainants     bigint not null,
    rows_by_table    jsonb not null
);
comment on table audit.retention_purges is
    'Each purge of personal data past its retention period: who, when, the cutoff, and rows removed per table (dry runs too).';

create table if not exists audit.subject_access_exports (
    export_id           bigserial primary key,
    exported_at         timestamptz not null default clock_timestamp(),
    exported_by         text not null,
    subject_pseudonym   text not null,
    out_file            text not null,
    rows_by_section     jsonb not null
);
comment on table audit.subject_access_exports is
    'Each subject-access export: who asked, for which pseudonym, where it was written, and how many rows of each kind.';

-- A stable pseudonym for a personal identifier: a keyed SHA-256, the key set per transaction by the
-- loader (never stored in the database). Same key + same identifier = same pseudonym, every night.
create or replace function audit.pseudonym(value text) returns text
language sql stable parallel safe
as $$
    select case when value is null then null else
        'P' || left(encode(sha256(convert_to(current_setting('warehouse.pseudonym_key') || ':' || value, 'UTF8')), 'hex'), 20)
    end
$$;

-- True when value casts to the named type. PostgreSQL 16+ has pg_input_is_valid; older servers
-- (the project supports 14+) get the same answer from a cast inside an exception block.
-- Stable, like pg_input_is_valid, so the planner inlines it: every row of every load calls it.
do $$
begin
    if current_setting('server_version_num')::int >= 160000 then
        execute $f$
            create or replace function audit.is_valid_as(value text, type_name text)
            returns boolean language sql stable parallel safe
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

-- Strict value parsers: what the loader checks is exactly what it stores (row_checks.py uses each both
-- for the check and for the stored value). Each returns null for anything that is not a plain, finite
-- value in the declared form and never raises. A regular expression admits only the declared form, so
-- no server setting (DateStyle, TimeZone) and none of PostgreSQL's special input words (epoch, infinity,
-- today, J2460000, 2023-04-01 BC, NaN, Infinity, 0x1F, 1_000) can change or pass a check; what passes
-- is rewritten as ISO 8601 (read the same under every DateStyle) before PostgreSQL reads it. Plain SQL,
-- so the planner inlines them into the loader's one set-based pass (the formats are constants there).
-- The formats are named in ingestion/value_formats.py.
create or replace function audit.make_date_or_null(y int, m int, d int) returns date
language sql immutable parallel safe
as $$
    select case when y between 1 and 9999 and m between 1 and 12 and d >= 1 and d <= case
        when m = 2 then case when y % 4 = 0 and (y % 100 <> 0 or y % 400 = 0) then 29 else 28 end
        when m in (4, 6, 9, 11) then 30 else 31 end
    then make_date(y, m, d) end
$$;

-- Whether 'YYYY-MM-DD' (digits already checked) is a day of the calendar: years 0001 to 9999, no 30 February.
do $$
begin
    if current_setting('server_version_num')::int >= 160000 then
        execute $f$
            create or replace function audit.is_iso_date(iso text) returns boolean
            language sql stable parallel safe
            as 'select pg_input_is_valid(iso, ''date'')'
        $f$;
    else
        execute $f$
            create or replace function audit.is_iso_date(iso text) returns boolean
            language sql immutable parallel safe
            as 'select audit.make_date_or_null(substr(iso, 1, 4)::int, substr(iso, 6, 2)::int, substr(iso, 9, 2)::int) is not null'
        $f$;
    end if;
end
$$;

-- Whether an ISO 8601 timestamp (its form already checked) is one: a day of the calendar, hours to 23,
-- minutes and seconds to 59, an offset within 15 hours.
do $$
begin
    if current_setting('server_version_num')::int >= 160000 then
        execute $f$
            create or replace function audit.is_iso_timestamp(iso text) returns boolean
            language sql stable parallel safe
            as 'select pg_input_is_valid(iso, ''timestamptz'')'
        $f$;
    else
        execute $f$
            create or replace function audit.is_iso_timestamp(iso text) returns boolean
            language sql immutable parallel safe
            as $body$ select audit.is_iso_date(left(iso, 10)) and (length(iso) <= 10 or (
                substr(iso, 12, 2) <= '23' collate "C" and substr(iso, 15, 2) <= '59' collate "C"
                and (substr(iso, 17, 1) <> ':' or substr(iso, 18, 2) <= '59' collate "C")
                and coalesce(substring(substr(iso, 17) from '[+-]([0-9]{2})'), '00') <= '15' collate "C")) $body$
        $f$;
    end if;
end
$$;

-- Excel's serial day numbers (its 1900 date system): 1 is 1900-01-01; 60 is the 29 February 1900 Excel
-- believes in, which never was; 2958465 is 9999-12-31.
create or replace function audit.excel_serial_date(serial int) returns date
language sql immutable parallel safe
as $$
    select case when serial between 1 and 59 then date '1899-12-31' + serial
                when serial between 61 and 2958465 then date '1899-12-30' + serial end
$$;

-- The readers in two parts: *_from_checked converts a value whose form its parse_* has checked (the
-- loader stores a row's values with it once the row has passed its checks, rather than test every
-- value's form a second time); parse_* checks the form and then converts with the same function, so
-- what is checked is exactly what is stored.
create or replace function audit.date_from_checked(value text, format text) returns date
language sql stable parallel safe
as $$
    select case format
        when 'YYYY-MM-DD' then value::date
        when 'DD/MM/YYYY' then (substr(value, 7, 4) || '-' || substr(value, 4, 2) || '-' || substr(value, 1, 2))::date
        when 'EXCEL SERIAL' then audit.excel_serial_date(value::int)
    end
$$;

create or replace function audit.parse_date(value text, format text) returns date
language sql stable parallel safe
as $$
    select case when case format
        when 'YYYY-MM-DD' then value ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' and audit.is_iso_date(value)
        when 'DD/MM/YYYY' then value ~ '^[0-9]{2}/[0-9]{2}/[0-9]{4}$'
            and audit.is_iso_date(substr(value, 7, 4) || '-' || substr(value, 4, 2) || '-' || substr(value, 1, 2))
        when 'EXCEL SERIAL' then value ~ '^[0-9]{1,7}$' and audit.excel_serial_date(value::int) is not null
    end then audit.date_from_checked(value, format) end
$$;

-- Timestamps: hours 00-23 (no 24:00), minutes and seconds 00-59 (no leap second), at most microseconds.
-- With a UTC offset (Z, +01, +0100, +01:00) it is that instant; without one it is a wall-clock time in
-- the source's time zone (time_zone, by default Europe/London, the councils' own).
create or replace function audit.timestamp_from_checked(value text, format text, time_zone text)
returns timestamptz
language sql stable parallel safe
as $$
    select case format
        when 'ISO 8601' then case
            when right(value, 1) = 'Z' or strpos(substr(value, 17), '+') > 0 or strpos(substr(value, 17), '-') > 0
            then value::timestamptz else value::timestamp at time zone time_zone end
        when 'DD/MM/YYYY HH:MM:SS' then
            (substr(value, 7, 4) || '-' || substr(value, 4, 2) || '-' || substr(value, 1, 2) || ' '
             || coalesce(nullif(substr(value, 12), ''), '00:00'))::timestamp at time zone time_zone
        when 'EXCEL SERIAL' then
            (audit.excel_serial_date(split_part(value, '.', 1)::int)
             + make_interval(secs => round(('0.' || coalesce(nullif(split_part(value, '.', 2), ''), '0'))::numeric * 86400)::float8))
            at time zone time_zone
    end
$$;

create or replace function audit.parse_timestamp(value text, format text, time_zone text) returns timestamptz
language sql stable parallel safe
as $$
    select case when case format
        -- 2024-03-31, 2024-03-31T14:05, 2024-03-31 14:05:09.123456, each optionally with Z or an offset.
        -- PostgreSQL would read hour 24 as the next day and second 60 as the next minute: refused.
        when 'ISO 8601' then value ~
            '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?$'
            and substr(value, 12, 2) <> '24' and substr(value, 18, 2) <> '60' and audit.is_iso_timestamp(value)
        -- 31/03/2024, 31/03/2024 14:05, 31/03/2024 14:05:09 (Excel's UK forms), in the source's time zone.
        when 'DD/MM/YYYY HH:MM:SS' then
            value ~ '^[0-9]{2}/[0-9]{2}/[0-9]{4}( ([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?)?$'
            and audit.is_iso_date(substr(value, 7, 4) || '-' || substr(value, 4, 2) || '-' || substr(value, 1, 2))
        -- Excel's serial day number with the time as its fraction (45383.5 is 2024-04-01 12:00), to the second.
        when 'EXCEL SERIAL' then value ~ '^[0-9]{1,7}(\.[0-9]{1,20})?$'
            and audit.excel_serial_date(split_part(value, '.', 1)::int) is not null
    end then audit.timestamp_from_checked(value, format, time_zone) end
$$;

-- Whole numbers and decimals in plain digits only: no NaN, Infinity, exponents, 0x1F, 0o17, 0b101, 1_000.
create or replace function audit.parse_integer(value text) returns bigint
language sql immutable parallel safe
as $$
    select case when value ~ '^[+-]?[0-9]{1,19}$' then case
        when value::numeric between -9223372036854775808 and 9223372036854775807 then value::numeric::bigint end end
$$;

create or replace function audit.parse_numeric(value text) returns numeric
language sql immutable parallel safe
as $$
    select case when length(value) <= 200 and value ~ '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$' then value::numeric end
$$;

create or replace function audit.parse_boolean(value text) returns boolean
language sql immutable parallel safe
as $$
    select case when lower(value) in ('true', 't', 'yes', 'y', '1') then true
                when lower(value) in ('false', 'f', 'no', 'n', '0') then false end
$$;

-- Publication: a month's BMMR figures, frozen once validated. A month is published as version 1, 2, ...
-- and never updated: a later change to a published month is a new version plus restatement rows.
create table if not exists published.bmmr_publications (
    report_month       date not null,
    version            int not null check (version >= 1),
    validation_run_id  text not null,
    checksum           text not null,
    figures_count      int not null,
    published_by       text not null,
    published_at       timestamptz not null default clock_timestamp(),
    primary key (report_month, version)
);
comment on table published.bmmr_publications is
    'One row per publication of a month''s BMMR: the validation run that passed, a checksum of the figures, who or what published it and when.';

create table if not exists published.bmmr_figures (
    report_month    date not null,
    version         int not null,
    directorate     text not null,
    procedure_code  text not null,
    period          text not null,
    measure         text not null,
    value           numeric,
    primary key (report_month, version, directorate, procedure_code, period, measure),
    foreign key (report_month, version) references published.bmmr_publications (report_month, version)
);
comment on table published.bmmr_figures is
    'The published BMMR cells, one per measure (long format: a restatement is a changed row). Never updated.';

-- What BI tools read: every published cell as its month's latest version has it (one row per cell, so a
-- sum over a month and period counts each figure once), with when that version was published.
create or replace view published.bmmr_current as
select
    figures.report_month,
    figures.version,
    figures.directorate,
    figures.procedure_code,
    figures.period,
    figures.measure,
    figures.value,
    publications.published_at
from published.bmmr_figures as figures
inner join published.bmmr_publications as publications
    on publications.report_month = figures.report_month and publications.version = figures.version
where figures.version = (
    select max(latest.version) from published.bmmr_publications as latest
    where latest.report_month = figures.report_month
);
comment on view published.bmmr_current is
    'The current version of every published BMMR figure: each month''s latest publication, one row per cell.';

create table if not exists published.bmmr_restatements (
    restatement_id  bigserial primary key,
    report_month    date not null,
    from_version    int not null,
    to_version      int not null,
    directorate     text not null,
    procedure_code  text not null,
    period          text not null,
    measure         text not null,
    old_value       numeric,
    new_value       numeric,
    reason          text not null,
    source_batches  bigint[] not null default '{}',
    restated_at     timestamptz not null default clock_timestamp(),
    foreign key (report_month, to_version) references published.bmmr_publications (report_month, version)
);
comment on table published.bmmr_restatements is
    'Every published cell a later version changed: old and new value, why, and the load batches that brought the change.';

-- Frozen means frozen: published rows can be added, never changed or removed.
create or replace function published.refuse_change() returns trigger
language plpgsql as $$
begin
    raise exception 'published figures are frozen: % on %.% is not allowed (publish a new version instead)',
        tg_op, tg_table_schema, tg_table_name;
end
$$;
do $$
declare
    frozen text;
begin
    foreach frozen in array array['bmmr_publications', 'bmmr_figures', 'bmmr_restatements'] loop
        if not exists (
            select 1 from pg_trigger
            where tgname = 'frozen' and tgrelid = format('published.%I', frozen)::regclass
        ) then
            execute format(
                'create trigger frozen before update or delete or truncate on published.%I '
                'for each statement execute function published.refuse_change()', frozen
            );
        end if;
    end loop;
end
$$;

-- Who may read and write what (the loader, transformer and bi_reader roles) is granted by
-- complaints_warehouse/warehouse/roles.py after this script, with the role names composed safely.

-- Crash safety: a batch or a run whose process died (killed, crashed, its connection dropped) is marked
-- 'abandoned' by the next run (complaints_warehouse/warehouse/recovery.py), its message saying what happened.
do $$
begin
    if not exists (
        select 1 from pg_constraint where conrelid = 'audit.load_batches'::regclass
        and conname = 'load_batches_status_check' and pg_get_constraintdef(oid) like '%abandoned%'
    ) then
        alter table audit.load_batches drop constraint if exists load_batches_status_check;
        alter table audit.load_batches add constraint load_batches_status_check
            check (status in ('running', 'loaded', 'refused', 'failed', 'skipped', 'abandoned'));
    end if;
    if not exists (
        select 1 from pg_constraint where conrelid = 'audit.pipeline_runs'::regclass
        and conname = 'pipeline_runs_status_check' and pg_get_constraintdef(oid) like '%abandoned%'
    ) then
        alter table audit.pipeline_runs drop constraint if exists pipeline_runs_status_check;
        alter table audit.pipeline_runs add constraint pipeline_runs_status_check
            check (status in ('running', 'succeeded', 'failed', 'abandoned'));
    end if;
end
$$;
comment on column audit.load_batches.status is
    'running (its loader is at work), loaded, skipped (content loaded before), refused (not the contract), failed (an error; a dropped connection is retried as a new batch) or abandoned (its loader died; nothing of it was kept).';
comment on column audit.pipeline_runs.status is
    'running, succeeded, failed, or abandoned (its process died; summary.abandoned says at which step).';
