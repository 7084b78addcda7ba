package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/spec"
	"github.com/pigweight/pigweight/pipelines/store"
	"github.com/pigweight/pigweight/pipelines/weighing"
)

// storeFile is the database in the data directory: visits, check-weighs, calibrations.
const storeFile = "pigweight.db"

// weighingStage makes the weighing service the pipelines' frame stage.
type weighingStage struct{ svc *weighing.Service }

func (w weighingStage) StartRun(p spec.Pipeline) pipelines.RunStage { return w.svc.StartRun(p) }

// openWeighing opens the store in dataDir and the weighing service on it. close stores what
// is queued and closes both; call it after the pipelines have stopped, so that their open
// visits are stored too.
func openWeighing(dataDir string, log *slog.Logger) (svc *weighing.Service, close func(), err error) {
	ctx := context.Background()
	path := filepath.Join(dataDir, storeFile)
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	svc, err = weighing.Open(ctx, st, log)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return svc, func() {
		if err := svc.Close(); err != nil {
			log.Error("weighing stopped with visits not stored", "err", err)
		}
		if err := st.Close(); err != nil {
			log.Error("closing the database", "path", path, "err", err)
		}
	}, nil
}
