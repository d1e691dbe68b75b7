-- On the subscriber: the subscription, with an initial copy of every row.
-- The subscriber's schema is triggers/V001__platform_schema.sql (the platform
-- tables only: no capture triggers, no `sync` schema). By hand:
--   psql "$SUBSCRIBER_URL" -f triggers/V001__platform_schema.sql
--   psql "$SUBSCRIBER_URL" -v name=hacksync_replica -v conninfo="$SOURCE_CONNINFO" -f triggers/replication/subscription.sql
-- `hacksync replica init` fills in the same variables (quoted as psql would)
-- and skips what already exists. CREATE SUBSCRIPTION cannot run inside a
-- transaction: it creates the replication slot on the source.
CREATE SUBSCRIPTION :"name"
    CONNECTION :'conninfo'
    PUBLICATION hacksync_platform
    WITH (copy_data = true, create_slot = true, enabled = true);
