-- Notification e-mail is claimed before it is sent (issue 11, finding 2).
-- A claimed message is 'sending' and its mail_next_at is when the claim
-- ends: sent and recorded before then, or free for any process to send
-- again (the one that claimed it stopped mid-send). Claiming and recording
-- each commit on their own, so a run that stops part-way never rolls back
-- what it already sent.
ALTER TABLE notifications
    DROP CONSTRAINT notifications_mail_state_check,
    ADD CONSTRAINT notifications_mail_state_check
        CHECK (mail_state IN ('none', 'pending', 'sending', 'sent', 'failed'));

DROP INDEX notifications_mail_due;
CREATE INDEX notifications_mail_due ON notifications (mail_next_at) WHERE mail_state IN ('pending', 'sending');

-- The admin page lists e-mail that could not be sent.
CREATE INDEX notifications_mail_failed ON notifications (created_at DESC) WHERE mail_state = 'failed';
