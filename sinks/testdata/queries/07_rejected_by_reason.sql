-- Rejected events by topic and reason over the last 24 hours.
SELECT
    topic,
    reason,
    sum(count) AS rejected
FROM driftd.rejected_events
WHERE minute >= now() - INTERVAL 24 HOUR
GROUP BY topic, reason
ORDER BY rejected DESC, topic, reason
