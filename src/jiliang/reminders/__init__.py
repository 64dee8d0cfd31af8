"""Reminders 到期提醒: due-in-30-days and overdue notices to instrument owners, written to an outbox in
the same transaction as the change that sets or clears a due date, delivered once by `jiliang jobs run`
over the channels each owner chose (SMS, e-mail, in-app), with a ledgered delivery log."""
