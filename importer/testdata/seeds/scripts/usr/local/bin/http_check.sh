#!/bin/bash
curl -v http://localhost/ > /tmp/http_check.log 2>&1
grep "HTTP/1.1 200" /tmp/http_check.log 

if [ "$?" == "0" ]
then 
        exit 0
else
        exit 1
fi
