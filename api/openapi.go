package api

import (
	_ "embed" // the OpenAPI document

	"github.com/gin-gonic/gin"
)

// openapiJSON is the OpenAPI 3 document of the JSON API. openapi_test.go
// drives real requests through the router and checks each request and
// answer against it, so a handler cannot drift from it unnoticed.
//
//go:embed openapi.json
var openapiJSON []byte

func (s *Server) openapi(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(200, "application/json", openapiJSON)
}
