-- Wake the bridge's outbox relay when events are committed: one NOTIFY per inserting statement, delivered
-- at commit (the relay also polls, so a missed notification only delays an event).
CREATE FUNCTION orders.notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orders_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON orders.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION orders.notify_outbox();
