package devmesh

import (
	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/origin"
)

// configOrigin turns an origin client config into the node config's form.
func configOrigin(o origin.Config) config.Origin {
	c := config.Defaults().Origin
	c.Endpoint, c.Bucket, c.Region = o.Endpoint, o.Bucket, o.Region
	c.AccessKey, c.SecretKey, c.UseTLS = o.AccessKey, o.SecretKey, o.UseTLS
	return c
}
