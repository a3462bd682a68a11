package review

import (
	"context"
	"fmt"
	"strings"

	"courier/deliver"
	"courier/store"
)

// apiDelivery is Deliverer over the deliver package.
type apiDelivery struct {
	d *deliver.Deliverer
}

// NewDelivery returns the Deliverer of d.
func NewDelivery(d *deliver.Deliverer) Deliverer { return apiDelivery{d} }

func (a apiDelivery) Recover(ctx context.Context) error {
	_, err := a.d.Recover(ctx)
	return err
}

func (a apiDelivery) Deliver(ctx context.Context, req store.Request) (Outcome, error) {
	res, err := a.d.Deliver(ctx, deliver.JobFromRequest(req))
	if err != nil {
		return Outcome{}, err
	}
	var stops []string
	for _, s := range res.Stopped {
		stops = append(stops, fmt.Sprintf("%s (%s)", s.Wiki, s.Reason))
	}
	out := Outcome{Finished: res.Finished(), Cancelled: res.Cancelled}
	if len(stops) > 0 {
		out.Stopped = "Delivery stopped on " + strings.Join(stops, ", ") +
			"; it resumes once the operator has seen to it."
	}
	return out, nil
}
