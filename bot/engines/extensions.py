"""Stand-ins for PostgreSQL extensions the embedded server lacks (pgcrypto, uuid-ossp, and
Supabase's http, pg_net and pg_cron).

Most real PostgreSQL histories create one of them; without it no proof is possible. A stand-in
creates the same functions with the same signatures in plain SQL, so schema proof works (column
defaults, functions that call them). Their values are not the real algorithms' and a plan that
used one says so.
"""

from __future__ import annotations

from pathlib import Path

_PGCRYPTO = """
CREATE FUNCTION digest(text, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT sha256(convert_to($1, 'UTF8')) $$;
CREATE FUNCTION digest(bytea, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT sha256($1) $$;
CREATE FUNCTION hmac(text, text, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT sha256(convert_to($2 || $1, 'UTF8')) $$;
CREATE FUNCTION hmac(bytea, bytea, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT sha256($2 || $1) $$;
CREATE FUNCTION gen_salt(text) RETURNS text LANGUAGE sql VOLATILE STRICT
  AS $$ SELECT '$1$' || substr(md5(random()::text), 1, 8) $$;
CREATE FUNCTION gen_salt(text, integer) RETURNS text LANGUAGE sql VOLATILE STRICT
  AS $$ SELECT '$1$' || substr(md5(random()::text), 1, 8) $$;
CREATE FUNCTION crypt(text, text) RETURNS text LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT left($2, 11) || md5(left($2, 11) || $1) $$;
CREATE FUNCTION gen_random_bytes(integer) RETURNS bytea LANGUAGE sql VOLATILE STRICT
  AS $$ SELECT substr(decode(repeat(md5(random()::text), ($1 / 16) + 1), 'hex'), 1, $1) $$;
CREATE FUNCTION encrypt(bytea, bytea, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT $1 $$;
CREATE FUNCTION decrypt(bytea, bytea, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT $1 $$;
CREATE FUNCTION pgp_sym_encrypt(text, text) RETURNS bytea LANGUAGE sql VOLATILE STRICT
  AS $$ SELECT convert_to($1, 'UTF8') $$;
CREATE FUNCTION pgp_sym_encrypt(text, text, text) RETURNS bytea LANGUAGE sql VOLATILE STRICT
  AS $$ SELECT convert_to($1, 'UTF8') $$;
CREATE FUNCTION pgp_sym_decrypt(bytea, text) RETURNS text LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT convert_from($1, 'UTF8') $$;
CREATE FUNCTION pgp_sym_decrypt(bytea, text, text) RETURNS text LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT convert_from($1, 'UTF8') $$;
"""

_UUID_OSSP = """
CREATE FUNCTION uuid_nil() RETURNS uuid LANGUAGE sql IMMUTABLE
  AS $$ SELECT '00000000-0000-0000-0000-000000000000'::uuid $$;
CREATE FUNCTION uuid_ns_dns() RETURNS uuid LANGUAGE sql IMMUTABLE
  AS $$ SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_ns_url() RETURNS uuid LANGUAGE sql IMMUTABLE
  AS $$ SELECT '6ba7b811-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_ns_oid() RETURNS uuid LANGUAGE sql IMMUTABLE
  AS $$ SELECT '6ba7b812-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_ns_x500() RETURNS uuid LANGUAGE sql IMMUTABLE
  AS $$ SELECT '6ba7b814-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_generate_v1() RETURNS uuid LANGUAGE sql VOLATILE
  AS $$ SELECT gen_random_uuid() $$;
CREATE FUNCTION uuid_generate_v1mc() RETURNS uuid LANGUAGE sql VOLATILE
  AS $$ SELECT gen_random_uuid() $$;
CREATE FUNCTION uuid_generate_v3(namespace uuid, name text) RETURNS uuid LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT md5($1::text || $2)::uuid $$;
CREATE FUNCTION uuid_generate_v4() RETURNS uuid LANGUAGE sql VOLATILE
  AS $$ SELECT gen_random_uuid() $$;
CREATE FUNCTION uuid_generate_v5(namespace uuid, name text) RETURNS uuid LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT substr(encode(sha256(convert_to($1::text || $2, 'UTF8')), 'hex'), 1, 32)::uuid $$;
"""

# Supabase's platform extensions that histories create and call. No request is ever sent:
# the functions return nothing, which is all a schema proof needs.
_HTTP = """
CREATE DOMAIN http_method AS text;
CREATE TYPE http_header AS (field varchar, value varchar);
CREATE TYPE http_request AS (method http_method, uri varchar, headers http_header[],
  content_type varchar, content varchar);
CREATE TYPE http_response AS (status integer, content_type varchar, headers http_header[],
  content varchar);
CREATE FUNCTION http(request http_request) RETURNS http_response LANGUAGE sql VOLATILE
  AS $$ SELECT NULL::http_response $$;
CREATE FUNCTION http_header(field varchar, value varchar) RETURNS http_header LANGUAGE sql
  IMMUTABLE AS $$ SELECT ROW($1, $2)::http_header $$;
CREATE FUNCTION http_get(uri varchar) RETURNS http_response LANGUAGE sql VOLATILE
  AS $$ SELECT NULL::http_response $$;
CREATE FUNCTION http_get(uri varchar, data jsonb) RETURNS http_response LANGUAGE sql VOLATILE
  AS $$ SELECT NULL::http_response $$;
CREATE FUNCTION http_post(uri varchar, content varchar, content_type varchar)
  RETURNS http_response LANGUAGE sql VOLATILE AS $$ SELECT NULL::http_response $$;
CREATE FUNCTION http_post(uri varchar, data jsonb) RETURNS http_response LANGUAGE sql VOLATILE
  AS $$ SELECT NULL::http_response $$;
CREATE FUNCTION http_put(uri varchar, content varchar, content_type varchar)
  RETURNS http_response LANGUAGE sql VOLATILE AS $$ SELECT NULL::http_response $$;
CREATE FUNCTION http_patch(uri varchar, content varchar, content_type varchar)
  RETURNS http_response LANGUAGE sql VOLATILE AS $$ SELECT NULL::http_response $$;
CREATE FUNCTION http_delete(uri varchar) RETURNS http_response LANGUAGE sql VOLATILE
  AS $$ SELECT NULL::http_response $$;
CREATE FUNCTION http_delete(uri varchar, content varchar, content_type varchar)
  RETURNS http_response LANGUAGE sql VOLATILE AS $$ SELECT NULL::http_response $$;
CREATE FUNCTION http_head(uri varchar) RETURNS http_response LANGUAGE sql VOLATILE
  AS $$ SELECT NULL::http_response $$;
CREATE FUNCTION http_set_curlopt(curlopt varchar, value varchar) RETURNS boolean
  LANGUAGE sql VOLATILE AS $$ SELECT true $$;
CREATE FUNCTION http_reset_curlopt() RETURNS boolean LANGUAGE sql VOLATILE AS $$ SELECT true $$;
CREATE FUNCTION urlencode(string varchar) RETURNS text LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT $1::text $$;
CREATE FUNCTION urlencode(data jsonb) RETURNS text LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT $1::text $$;
"""

_PG_NET = """
CREATE TABLE net.http_request_queue (id bigserial PRIMARY KEY, method text NOT NULL,
  url text NOT NULL, headers jsonb NOT NULL, body bytea, timeout_milliseconds integer NOT NULL);
CREATE TABLE net._http_response (id bigint, status_code integer, content_type text,
  headers jsonb, content text, timed_out boolean, error_msg text,
  created timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION net.http_get(url text, params jsonb DEFAULT '{}', headers jsonb DEFAULT '{}',
  timeout_milliseconds integer DEFAULT 5000) RETURNS bigint LANGUAGE sql VOLATILE
  AS $$ SELECT 0::bigint $$;
CREATE FUNCTION net.http_post(url text, body jsonb DEFAULT '{}', params jsonb DEFAULT '{}',
  headers jsonb DEFAULT '{"Content-Type": "application/json"}',
  timeout_milliseconds integer DEFAULT 5000) RETURNS bigint LANGUAGE sql VOLATILE
  AS $$ SELECT 0::bigint $$;
CREATE FUNCTION net.http_delete(url text, params jsonb DEFAULT '{}', headers jsonb DEFAULT '{}',
  timeout_milliseconds integer DEFAULT 5000) RETURNS bigint LANGUAGE sql VOLATILE
  AS $$ SELECT 0::bigint $$;
"""

_PG_CRON = """
CREATE TABLE cron.job (jobid bigserial PRIMARY KEY, schedule text NOT NULL, command text NOT NULL,
  nodename text NOT NULL DEFAULT 'localhost', nodeport integer NOT NULL DEFAULT 5432,
  database text NOT NULL DEFAULT current_database(), username text NOT NULL DEFAULT current_user,
  active boolean NOT NULL DEFAULT true, jobname text);
CREATE FUNCTION cron.schedule(schedule text, command text) RETURNS bigint LANGUAGE sql VOLATILE
  AS $$ INSERT INTO cron.job (schedule, command) VALUES ($1, $2) RETURNING jobid $$;
CREATE FUNCTION cron.schedule(job_name text, schedule text, command text) RETURNS bigint
  LANGUAGE sql VOLATILE
  AS $$ INSERT INTO cron.job (jobname, schedule, command) VALUES ($1, $2, $3) RETURNING jobid $$;
CREATE FUNCTION cron.unschedule(job_id bigint) RETURNS boolean LANGUAGE sql VOLATILE
  AS $$ DELETE FROM cron.job WHERE jobid = $1 RETURNING true $$;
CREATE FUNCTION cron.unschedule(job_name text) RETURNS boolean LANGUAGE sql VOLATILE
  AS $$ DELETE FROM cron.job WHERE jobname = $1 RETURNING true $$;
"""

# name -> (the real extension's version, its functions in SQL, the schema it must live in)
_SCRIPTS = {
    "pgcrypto": ("1.3", _PGCRYPTO, None),
    "uuid-ossp": ("1.1", _UUID_OSSP, None),
    "http": ("1.6", _HTTP, None),
    "pg_net": ("0.14", _PG_NET, "net"),
    "pg_cron": ("1.6", _PG_CRON, "cron"),
}
STAND_INS = tuple(_SCRIPTS)


def install_stand_ins(share: Path) -> Path:
    """Write the stand-ins under `share`/extension; `share` goes into extension_control_path."""
    directory = share / "extension"
    directory.mkdir(parents=True, exist_ok=True)
    for name, (version, sql, schema) in _SCRIPTS.items():
        # an extension with its own schema (net, cron) is created there, and not movable
        where = f"relocatable = false\nschema = {schema}\n" if schema else "relocatable = true\n"
        (directory / f"{name}.control").write_text(
            f"comment = 'rollback-plan stand-in for {name}: same functions, not the real ones'\n"
            f"default_version = '{version}'\n{where}trusted = true\n",
            encoding="utf-8",
        )
        (directory / f"{name}--{version}.sql").write_text(sql, encoding="utf-8")
    return share


# Roles the Supabase platform provides (policies and grants name them). Roles belong to the
# whole server, which scratch databases share: created once, quietly after that.
SUPABASE_ROLES = """DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role', 'supabase_admin',
    'supabase_auth_admin', 'supabase_storage_admin', 'dashboard_user'] LOOP
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END LOOP;
END $$"""
