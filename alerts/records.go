package alerts

import "time"

type AlertRecord struct {
	AlertID, Rule, Model, Version, Feature, Metric, State, Severity string
	Value, Threshold                                                float64
	WindowStart, WindowEnd                                          time.Time
	BaselineID                                                      string
	At                                                              time.Time
}

type DeliveryRecord struct {
	NotificationID, Target, Kind, Model string
	AlertIDs                            []string
	WindowStart                         time.Time
	State                               string
	Attempts                            int
	LastStatus                          int
	LastError                           string
	FirstAttempt, FinalAt               time.Time
}
